package judge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

const (
	gatewayAPIGroup  = "gateway.networking.k8s.io"
	gatewayNameLabel = "gateway.networking.k8s.io/gateway-name"
	// istioGatewayClass is the class istiod deploys an ingress proxy for; the waypoint and
	// east-west classes are not ingress gateways.
	istioGatewayClass = "istio"
	// waypointGatewayClass is the class of an ambient waypoint.
	waypointGatewayClass = "istio-waypoint"
)

// gatewayProxyName is the Deployment, Service and service account istiod's gateway
// deployment controller creates for a Gateway of class istio (Istio's "automated
// deployment"): what a cluster would run and the fake discovery server does not create.
func gatewayProxyName(gateway string) string { return gateway + "-istio" }

// deployGateway adds what istiod's deployment controller would create for a Gateway API
// Gateway of class istio or istio-waypoint: the Service it is exposed on (istiod binds the
// Gateway to it) unless the objects already hold one, a Deployment of the proxy whose
// pods that Service selects, and a TLS Secret for each certificate reference the objects
// do not hold (the certificate is the cluster's, not the spec's; a missing one would make
// Istio drop the listener and hide its routes). The Gateway itself is added too, with
// the status address istiod would write for a waypoint.
func (w *world) deployGateway(gw object, domain string) ([]object, error) {
	spec := dig(map[string]any(gw), "spec")
	class, _ := dig(spec, "gatewayClassName").(string)
	var name string
	var ports []any
	labels := map[string]any{gatewayNameLabel: gw.name()}
	switch class {
	case istioGatewayClass:
		name = gatewayProxyName(gw.name())
		labels["gateway.networking.k8s.io/gateway-class-name"] = class
		labels["service.istio.io/canonical-name"] = name
		var err error
		if ports, err = w.listenerPorts(gw, spec); err != nil {
			return nil, err
		}
	case waypointGatewayClass:
		// A waypoint's Deployment, Service and service account carry the Gateway's own name;
		// the ambient index finds the waypoint by the address in the Gateway's status.
		name = gw.name()
		labels["gateway.istio.io/managed"] = "istio.io-mesh-controller"
		ports = []any{map[string]any{"name": "mesh", "port": 15008, "targetPort": 15008, "appProtocol": "hbone"}}
		gw["status"] = map[string]any{"addresses": []any{map[string]any{
			"type": "Hostname", "value": name + "." + gw.namespace() + ".svc." + domain,
		}}}
	}
	doc, err := yaml.Marshal(map[string]any(gw))
	if err != nil {
		return nil, err
	}
	w.kubeObjects = append(w.kubeObjects, string(doc))
	if name == "" {
		return nil, nil // a class istiod deploys nothing for here
	}
	namespace := gw.namespace()
	selector := map[string]any{gatewayNameLabel: gw.name()}
	if _, ok := w.services[key(namespace, name)]; !ok {
		svc := object{
			"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": name, "namespace": namespace, "labels": selector},
			"spec": map[string]any{
				"selector": selector, "ports": ports,
				"clusterIP": w.nextClusterIP(),
			},
		}
		doc, err := yaml.Marshal(map[string]any(svc))
		if err != nil {
			return nil, err
		}
		w.services[key(namespace, name)] = svc
		w.kubeObjects = append(w.kubeObjects, string(doc))
	}
	labels["sidecar.istio.io/inject"] = "false"
	deployment := object{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec": map[string]any{
			"replicas": 1,
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec": map[string]any{
					"serviceAccountName": name,
					"containers":         []any{map[string]any{"name": "istio-proxy", "image": "auto"}},
				},
			},
		},
	}
	return []object{deployment}, nil
}

// listenerPorts are the Service ports of a gateway's listeners; on the way, each TLS
// certificate they reference that the objects do not hold is added.
func (w *world) listenerPorts(gw object, spec any) ([]any, error) {
	var ports []any
	seen := map[int]bool{}
	for _, l := range list(dig(spec, "listeners")) {
		port := number(dig(l, "port"))
		if !seen[port] {
			seen[port] = true
			protocol, _ := dig(l, "protocol").(string)
			// targetPort written out: no API server defaults it here, and Istio binds a
			// gateway's listener to the target port.
			ports = append(ports, map[string]any{
				"name": fmt.Sprintf("%s-%d", strings.ToLower(protocol), port), "port": port, "targetPort": port,
			})
		}
		for _, ref := range list(dig(l, "tls", "certificateRefs")) {
			refName, _ := dig(ref, "name").(string)
			refNamespace, _ := dig(ref, "namespace").(string)
			if refNamespace == "" {
				refNamespace = gw.namespace()
			}
			if refName == "" || w.secrets[key(refNamespace, refName)] {
				continue
			}
			secret, err := selfSignedSecret(refNamespace, refName)
			if err != nil {
				return nil, err
			}
			w.secrets[key(refNamespace, refName)] = true
			w.kubeObjects = append(w.kubeObjects, secret)
		}
	}
	return ports, nil
}

// selfSignedSecret is a kubernetes.io/tls Secret holding a fresh self-signed certificate:
// Istio checks that a referenced certificate parses, not who signed it.
func selfSignedSecret(namespace, name string) (string, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name + "." + namespace + ".meshstack.invalid"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{"*"},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &priv.PublicKey, priv)
	if err != nil {
		return "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return "", err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	doc, err := yaml.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"data": map[string]any{
			"tls.crt": base64.StdEncoding.EncodeToString(certPEM),
			"tls.key": base64.StdEncoding.EncodeToString(keyPEM),
		},
	})
	return string(doc), err
}

// defaultHTTPRoute writes what the Gateway API CRD's schema defaults on admission (the API
// server does it in a cluster; Istio's controller expects it done): a rule without matches
// matches every path, a match without a path is a PathPrefix of "/", header and query
// matches are Exact, a backend's weight is 1.
func defaultHTTPRoute(o object) {
	for _, rule := range list(dig(map[string]any(o), "spec", "rules")) {
		r, ok := rule.(map[string]any)
		if !ok {
			continue
		}
		if len(list(r["matches"])) == 0 {
			r["matches"] = []any{map[string]any{}}
		}
		for _, match := range list(r["matches"]) {
			m, ok := match.(map[string]any)
			if !ok {
				continue
			}
			path, _ := m["path"].(map[string]any)
			if path == nil {
				path = map[string]any{}
				m["path"] = path
			}
			if path["type"] == nil {
				path["type"] = "PathPrefix"
			}
			if path["value"] == nil {
				path["value"] = "/"
			}
			for _, field := range []string{"headers", "queryParams"} {
				for _, h := range list(m[field]) {
					if hm, ok := h.(map[string]any); ok && hm["type"] == nil {
						hm["type"] = "Exact"
					}
				}
			}
		}
		for _, b := range list(r["backendRefs"]) {
			if bm, ok := b.(map[string]any); ok && bm["weight"] == nil {
				bm["weight"] = 1
			}
		}
	}
}
