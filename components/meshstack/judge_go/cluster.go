package judge

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// object is one rendered manifest, read generically: the judge takes what a cluster
// would hold, whatever produced it (meshstack's renderer or the real engine's render).
type object map[string]any

func (o object) str(path ...string) string {
	v, _ := dig(map[string]any(o), path...).(string)
	return v
}

func (o object) kind() string      { return o.str("kind") }
func (o object) name() string      { return o.str("metadata", "name") }
func (o object) namespace() string { return o.str("metadata", "namespace") }

func (o object) group() string {
	group, _, found := strings.Cut(o.str("apiVersion"), "/")
	if !found {
		return ""
	}
	return group
}

func dig(v any, path ...string) any {
	for _, key := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

func stringMap(v any) map[string]string {
	out := map[string]string{}
	m, _ := v.(map[string]any)
	for k, val := range m {
		if s, ok := val.(string); ok {
			out[k] = s
		}
	}
	return out
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func number(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	}
	return 0
}

// pod is one replica the judge adds for a Deployment, as the cluster would run it.
type pod struct {
	name, namespace, ip, serviceAccount, deployment string
	labels                                          map[string]string
	sidecar                                         bool
	ambient                                         bool // captured by ztunnel (an ambient namespace)
	gateway                                         bool // a gateway's or waypoint's own proxy
	machine                                         bool // a WorkloadEntry, not a Pod
	containerPorts                                  map[string]int
}

// world is what the fake discovery server is fed, and what the queries look up.
type world struct {
	// index numbers the cluster among a multi-cluster question's (0 alone): each cluster
	// gets its own pod and Service address ranges, as real clusters' CIDRs differ.
	index         int
	network       string   // the network the injector writes on sidecar pods (multi-cluster)
	istioConfig   []string // YAML documents of Istio's own kinds
	kubeObjects   []string // Namespaces, Services, ServiceAccounts, Pods, EndpointSlices
	services      map[string]object
	pods          []*pod
	skippedKinds  map[string]int
	namespaceMeta map[string]map[string]string
	secrets       map[string]bool // namespace/name of every Secret the objects hold or the judge added
}

func key(namespace, name string) string { return namespace + "/" + name }

// nextClusterIP is the address the cluster would give the next Service (one per Service).
func (w *world) nextClusterIP() string {
	n := len(w.services) + 1
	return fmt.Sprintf("10.%d.%d.%d", 96+w.index, n/256, n%256)
}

// readFromTheCluster are the Istio kinds istiod's ambient index reads through its
// Kubernetes informers rather than its config store: the judge gives them to both, as
// Istio's own waypoint tests do (without them ztunnel would get no policy at all).
var readFromTheCluster = map[string]bool{
	"AuthorizationPolicy": true, "PeerAuthentication": true,
	"ServiceEntry": true, "WorkloadEntry": true,
}

func parseObjects(stream string) ([]object, error) {
	var out []object
	for i, doc := range strings.Split(stream, "\n---") {
		doc = strings.TrimPrefix(doc, "\n")
		if strings.TrimSpace(doc) == "" || strings.TrimSpace(doc) == "---" {
			continue
		}
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			return nil, fmt.Errorf("object %d of the stream is not YAML: %w", i, err)
		}
		if o == nil || o.kind() == "" {
			continue
		}
		if o.kind() == "List" {
			for _, item := range list(o["items"]) {
				if m, ok := item.(map[string]any); ok {
					out = append(out, object(m))
				}
			}
			continue
		}
		out = append(out, o)
	}
	return out, nil
}

// injected says whether pods of a namespace get a sidecar, as Istio's injector decides:
// the namespace asks for it (istio-injection=enabled or an istio.io/rev label) and the pod
// does not opt out; ambient namespaces run no sidecar.
func injected(nsLabels, podLabels map[string]string) bool {
	if podLabels["sidecar.istio.io/inject"] == "false" {
		return false
	}
	if nsLabels["istio.io/dataplane-mode"] == "ambient" {
		return false
	}
	if nsLabels["istio-injection"] == "enabled" || nsLabels["istio.io/rev"] != "" {
		return true
	}
	return podLabels["sidecar.istio.io/inject"] == "true"
}

// capturedByZtunnel says whether ztunnel takes a pod's traffic: its namespace (or the pod)
// is labelled for ambient and the pod does not opt out; gateways and waypoints are not.
func capturedByZtunnel(nsLabels, podLabels map[string]string) bool {
	if podLabels[ambientDataplaneLabel] == "none" || podLabels[gatewayNameLabel] != "" {
		return false
	}
	return podLabels[ambientDataplaneLabel] == "ambient" || nsLabels[ambientDataplaneLabel] == "ambient"
}

func buildWorld(objects []object, domain string, index int) (*world, error) {
	return buildWorldOn(objects, domain, index, "")
}

// buildWorldOn builds the world of a cluster whose injector puts its sidecars on network.
func buildWorldOn(objects []object, domain string, index int, network string) (*world, error) {
	w := &world{
		index:    index,
		network:  network,
		services: map[string]object{}, skippedKinds: map[string]int{},
		namespaceMeta: map[string]map[string]string{}, secrets: map[string]bool{},
	}
	var deployments, gateways []object
	for _, o := range objects {
		switch {
		case strings.HasSuffix(o.group(), "istio.io"):
			if o.kind() == "WorkloadEntry" {
				w.addMachine(o)
			}
			doc, err := yaml.Marshal(map[string]any(o))
			if err != nil {
				return nil, err
			}
			w.istioConfig = append(w.istioConfig, string(doc))
			if readFromTheCluster[o.kind()] {
				w.kubeObjects = append(w.kubeObjects, string(doc))
			}
		case o.group() == "" && (o.kind() == "Namespace" || o.kind() == "Service" || o.kind() == "ServiceAccount"):
			if o.kind() == "Namespace" {
				w.namespaceMeta[o.name()] = stringMap(dig(map[string]any(o), "metadata", "labels"))
			}
			if o.kind() == "Service" {
				// A cluster gives every Service an address; outbound listeners use it.
				if spec, ok := o["spec"].(map[string]any); ok && spec["clusterIP"] == nil {
					spec["clusterIP"] = w.nextClusterIP()
				}
				w.services[key(o.namespace(), o.name())] = o
			}
			doc, err := yaml.Marshal(map[string]any(o))
			if err != nil {
				return nil, err
			}
			w.kubeObjects = append(w.kubeObjects, string(doc))
		case o.group() == gatewayAPIGroup:
			if o.kind() == "Gateway" {
				gateways = append(gateways, o) // with what istiod deploys for it, below
				continue
			}
			if o.kind() == "HTTPRoute" {
				defaultHTTPRoute(o)
			}
			doc, err := yaml.Marshal(map[string]any(o))
			if err != nil {
				return nil, err
			}
			w.kubeObjects = append(w.kubeObjects, string(doc))
		case o.group() == "" && o.kind() == "Secret":
			w.secrets[key(o.namespace(), o.name())] = true
			doc, err := yaml.Marshal(map[string]any(o))
			if err != nil {
				return nil, err
			}
			w.kubeObjects = append(w.kubeObjects, string(doc))
		case o.kind() == "Deployment":
			deployments = append(deployments, o)
		default:
			w.skippedKinds[o.kind()]++
		}
	}
	for _, gw := range gateways {
		made, err := w.deployGateway(gw, domain)
		if err != nil {
			return nil, err
		}
		deployments = append(deployments, made...)
	}
	sort.SliceStable(deployments, func(i, j int) bool {
		return key(deployments[i].namespace(), deployments[i].name()) < key(deployments[j].namespace(), deployments[j].name())
	})
	for _, d := range deployments {
		if err := w.addPods(d); err != nil {
			return nil, err
		}
	}
	for _, svc := range w.sortedServices() {
		if slice := w.endpointSlice(svc); slice != "" {
			w.kubeObjects = append(w.kubeObjects, slice)
		}
	}
	return w, nil
}

func (w *world) sortedServices() []object {
	keys := make([]string, 0, len(w.services))
	for k := range w.services {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]object, 0, len(keys))
	for _, k := range keys {
		out = append(out, w.services[k])
	}
	return out
}

// addPods adds one Pod per replica of a Deployment, with its template's labels and
// service account, an IP of its own, and the sidecar label when Istio would inject one.
func (w *world) addPods(d object) error {
	spec := dig(map[string]any(d), "spec")
	replicas := 1
	if r := dig(spec, "replicas"); r != nil {
		replicas = number(r)
	}
	if replicas < 1 {
		replicas = 1 // a scaled-to-zero workload is still judged as if it ran
	}
	template := dig(spec, "template")
	labels := stringMap(dig(template, "metadata", "labels"))
	namespace := d.namespace()
	sidecar := injected(w.namespaceMeta[namespace], labels)
	ambient := !sidecar && capturedByZtunnel(w.namespaceMeta[namespace], labels)
	gateway := labels[gatewayNameLabel] != ""
	account, _ := dig(template, "spec", "serviceAccountName").(string)
	if account == "" {
		account = "default"
	}
	ports := map[string]int{}
	for _, c := range list(dig(template, "spec", "containers")) {
		for _, p := range list(dig(c, "ports")) {
			if name, ok := dig(p, "name").(string); ok {
				ports[name] = number(dig(p, "containerPort"))
			}
		}
	}
	for i := range replicas {
		n := len(w.pods) + 1
		p := &pod{
			name:           fmt.Sprintf("%s-%d", d.name(), i),
			namespace:      namespace,
			ip:             fmt.Sprintf("10.%d.%d.%d", 16+4*w.index+n/65536, (n/256)%256, n%256),
			serviceAccount: account,
			deployment:     d.name(),
			labels:         map[string]string{},
			sidecar:        sidecar,
			ambient:        ambient,
			gateway:        gateway,
			containerPorts: ports,
		}
		for k, v := range labels {
			p.labels[k] = v
		}
		annotations := map[string]string{}
		if sidecar {
			p.labels["security.istio.io/tlsMode"] = "istio"
			if _, set := p.labels[networkLabel]; !set && w.network != "" {
				// What the injector writes from ISTIO_META_NETWORK (its applyMetadata).
				p.labels[networkLabel] = w.network
			}
			annotations["sidecar.istio.io/status"] = `{"containers":["istio-proxy"]}`
		}
		if ambient {
			// What Istio's CNI agent writes on a pod it redirects to ztunnel.
			annotations["ambient.istio.io/redirection"] = "enabled"
		}
		doc, err := yaml.Marshal(map[string]any{
			"apiVersion": "v1",
			"kind":       "Pod",
			"metadata": map[string]any{
				"name": p.name, "namespace": namespace, "labels": p.labels, "annotations": annotations,
			},
			"spec": map[string]any{
				"serviceAccountName": account,
				"nodeName":           "judge-node",
				"containers":         dig(template, "spec", "containers"),
			},
			"status": map[string]any{
				"phase":      "Running",
				"podIP":      p.ip,
				"podIPs":     []any{map[string]any{"ip": p.ip}},
				"conditions": []any{map[string]any{"type": "Ready", "status": "True"}},
			},
		})
		if err != nil {
			return err
		}
		w.kubeObjects = append(w.kubeObjects, string(doc))
		w.pods = append(w.pods, p)
	}
	return nil
}

// addMachine records a WorkloadEntry as an instance: a virtual machine runs Istio's proxy,
// so it is judged like a pod with a sidecar (Istio itself reads the entry from the config).
func (w *world) addMachine(o object) {
	spec := dig(map[string]any(o), "spec")
	account, _ := dig(spec, "serviceAccount").(string)
	if account == "" {
		account = "default"
	}
	ports := map[string]int{}
	for name, port := range stringMapAny(dig(spec, "ports")) {
		ports[name] = number(port)
	}
	address, _ := dig(spec, "address").(string)
	w.pods = append(w.pods, &pod{
		name: o.name(), namespace: o.namespace(), ip: address, serviceAccount: account,
		deployment: o.name(), labels: stringMap(dig(spec, "labels")), sidecar: true,
		containerPorts: ports, machine: true,
	})
}

func stringMapAny(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// targetPort is the pod port a Service port sends to (a number, or a named container port).
func (p *pod) targetPort(servicePort any) int {
	target := dig(servicePort, "targetPort")
	if name, ok := target.(string); ok {
		return p.containerPorts[name]
	}
	if target == nil {
		return number(dig(servicePort, "port"))
	}
	return number(target)
}

func (w *world) endpointSlice(svc object) string {
	selector := stringMap(dig(map[string]any(svc), "spec", "selector"))
	var backing []*pod
	for _, p := range w.pods {
		if !p.machine && p.namespace == svc.namespace() && selects(selector, p.labels) {
			backing = append(backing, p)
		}
	}
	if len(backing) == 0 {
		return ""
	}
	var endpoints, ports []any
	for _, p := range backing {
		endpoints = append(endpoints, map[string]any{
			"addresses":  []any{p.ip},
			"conditions": map[string]any{"ready": true},
			"targetRef":  map[string]any{"kind": "Pod", "name": p.name, "namespace": p.namespace},
		})
	}
	for _, sp := range list(dig(map[string]any(svc), "spec", "ports")) {
		port := map[string]any{"port": backing[0].targetPort(sp), "protocol": "TCP"}
		if name, ok := dig(sp, "name").(string); ok {
			port["name"] = name
		}
		if ap, ok := dig(sp, "appProtocol").(string); ok {
			port["appProtocol"] = ap
		}
		ports = append(ports, port)
	}
	doc, _ := yaml.Marshal(map[string]any{
		"apiVersion":  "discovery.k8s.io/v1",
		"kind":        "EndpointSlice",
		"addressType": "IPv4",
		"metadata": map[string]any{
			"name": svc.name() + "-judge", "namespace": svc.namespace(),
			"labels": map[string]any{"kubernetes.io/service-name": svc.name()},
		},
		"endpoints": endpoints,
		"ports":     ports,
	})
	return string(doc)
}

// firstPod is the first instance of a Deployment or WorkloadEntry named so, else of the
// workload whose pods carry that app label.
func (w *world) firstPod(namespace, name string) *pod {
	for _, p := range w.pods {
		if p.namespace == namespace && p.deployment == name {
			return p
		}
	}
	for _, p := range w.pods {
		if p.namespace == namespace && p.labels["app"] == name {
			return p
		}
	}
	return nil
}

func (w *world) deploymentsIn(namespace string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range w.pods {
		if p.namespace == namespace && !seen[p.deployment] {
			seen[p.deployment] = true
			out = append(out, p.deployment)
		}
	}
	return out
}
