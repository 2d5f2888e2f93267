package judge

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	corepb "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"sigs.k8s.io/yaml"

	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/cluster"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/config/mesh/meshwatcher"
)

// ClusterInput is one cluster of a multi-cluster question: its objects (what the stack
// applies there), where its nodes run, and the mesh config its istiod runs with (the
// question's own when empty).
type ClusterInput struct {
	Name       string `json:"name"`
	Objects    string `json:"objects"`
	Region     string `json:"region,omitempty"`
	Zone       string `json:"zone,omitempty"`
	MeshConfig string `json:"meshConfig,omitempty"`
	// Network: what the cluster's istiod values set as global.network, which its
	// injector writes into every sidecar's ISTIO_META_NETWORK and pod labels.
	Network string `json:"network,omitempty"`
}

// LocalityEndpoints is one locality's group in the ClusterLoadAssignment istiod sends a
// proxy: its priority (0 is tried first; Istio's failover puts other localities lower),
// weight, and the addresses in it (a remote network's endpoints appear as its east-west
// gateway's address on 15443).
type LocalityEndpoints struct {
	Locality  string     `json:"locality"`
	Priority  uint32     `json:"priority"`
	Weight    uint32     `json:"weight,omitempty"`
	Endpoints []Endpoint `json:"endpoints"`
}

// NetworkGateway is one gateway istiod knows for a network: where other networks'
// requests for the network's pods go.
type NetworkGateway struct {
	Network string `json:"network"`
	Cluster string `json:"cluster"`
	Address string `json:"address"`
}

// Endpoint is one address of a locality group, with its load-balancing weight.
type Endpoint struct {
	Address string `json:"address"`
	Weight  uint32 `json:"weight,omitempty"`
}

const (
	systemNamespace   = "istio-system"
	networkLabel      = "topology.istio.io/network"
	multiClusterLabel = "istio/multiCluster"
	clusterAnnotation = "networking.istio.io/cluster"
	// What a remote's system namespace names its primary with.
	controlPlaneAnnotation = "topology.istio.io/controlPlaneClusters"
	judgeNode              = "judge-node"
	regionLabel            = "topology.kubernetes.io/region"
	zoneLabel              = "topology.kubernetes.io/zone"
	loadBalancerNetwork    = 20 // 172.<20+index>.0.<n>: what each cluster's load balancers get
)

// judgeClusters answers a multi-cluster question as the mesh runs: one istiod per
// primary cluster (a fake discovery server whose config cluster is that cluster, with that
// cluster's Istio configuration), reading the Services and endpoints of its own cluster
// and of every cluster it holds a remote secret for: a cluster without one is invisible
// to it, as to a real istiod. What a real cluster adds is added per cluster: pods with
// addresses of the cluster's own range, a node labelled with its region and zone, and
// an address for each LoadBalancer Service (what istiod reads a network's gateway from).
// A remote cluster (primary-remote) runs no istiod: its proxies are its primary's.
func judgeClusters(t *testing.T, input Input) (*Output, error) {
	domain := input.Domain
	if domain == "" {
		domain = "cluster.local"
	}
	worlds := map[string]*world{}
	remotes := map[string][]string{}
	servedBy := map[string]string{}
	out := &Output{SkippedKinds: map[string]int{}}
	for i, c := range input.Clusters {
		if c.Name == "" || worlds[c.Name] != nil {
			return nil, fmt.Errorf("cluster %d: a cluster needs a name of its own (got %q)", i, c.Name)
		}
		objects, err := parseObjects(c.Objects)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		remotes[c.Name] = remoteClusters(objects)
		servedBy[c.Name] = controlPlaneOf(objects)
		addressLoadBalancers(objects, i)
		w, err := buildWorldOn(objects, domain, i, c.Network)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		node, err := nodeObject(c)
		if err != nil {
			return nil, err
		}
		w.kubeObjects = append(w.kubeObjects, node)
		worlds[c.Name] = w
		for k, n := range w.skippedKinds {
			out.SkippedKinds[k] += n
		}
		out.Pods += len(w.pods)
	}
	judges := map[string]*judge{}
	for _, c := range input.Clusters {
		if servedBy[c.Name] != "" {
			continue // a remote: its proxies are the primary's, below
		}
		w := worlds[c.Name]
		source := c.MeshConfig
		if source == "" {
			source = input.MeshConfig
		}
		meshConfig, err := mesh.ApplyMeshConfigDefaults(source)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: the mesh config is not valid: %w", c.Name, err)
		}
		configs, err := istioConfigs(w, domain)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		seen := map[cluster.ID]string{cluster.ID(c.Name): strings.Join(w.kubeObjects, "\n---\n")}
		for _, remote := range remotes[c.Name] {
			if rw, ok := worlds[remote]; ok {
				seen[cluster.ID(remote)] = strings.Join(rw.kubeObjects, "\n---\n")
			}
		}
		server := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
			DefaultClusterName:              cluster.ID(c.Name),
			Configs:                         configs,
			KubernetesObjectStringByCluster: seen,
			MeshConfig:                      meshConfig,
			NetworksWatcher:                 meshwatcher.NewFixedNetworksWatcher(nil),
		})
		judges[c.Name] = &judge{
			cluster: c.Name, network: c.Network,
			locality: &corepb.Locality{Region: c.Region, Zone: c.Zone},
			peers:    judges,
			t:        t, world: w, server: server, domain: domain,
			trust: meshConfig.GetTrustDomain(), proxies: map[string]*proxyConfig{},
		}
	}
	// A remote runs no istiod: its sidecars connect to the primary's (the fake server of
	// the cluster its namespace names), with the remote's cluster ID, network and
	// locality (what the primary's injector wrote into them, and their node). Its own
	// Istio configuration is read by no istiod, so by none here either.
	for _, c := range input.Clusters {
		primary := servedBy[c.Name]
		if primary == "" {
			continue
		}
		p, ok := judges[primary]
		if !ok {
			return nil, fmt.Errorf("cluster %s: its %s names %q, which is no primary of the question", c.Name, controlPlaneAnnotation, primary)
		}
		judges[c.Name] = &judge{
			cluster: c.Name, network: c.Network,
			locality: &corepb.Locality{Region: c.Region, Zone: c.Zone},
			peers:    judges,
			t:        t, world: worlds[c.Name], server: p.server, domain: domain,
			trust: p.trust, proxies: map[string]*proxyConfig{},
		}
	}
	first := input.Clusters[0].Name
	for _, q := range input.Queries {
		name := q.Cluster
		if name == "" {
			name = first
		}
		var a Answer
		if j, ok := judges[name]; ok {
			a = j.answer(q)
		} else {
			a = Answer{Error: fmt.Sprintf("no cluster %q in the question", name)}
		}
		a.ID = q.ID
		out.Answers = append(out.Answers, a)
	}
	return out, nil
}

// remoteClusters names the clusters a cluster's istiod reads, by the remote secrets in
// its system namespace: Secrets labelled istio/multiCluster=true, each annotated with
// the cluster its kubeconfig reaches.
func remoteClusters(objects []object) []string {
	var found []string
	for _, o := range objects {
		if o.kind() != "Secret" || o.namespace() != systemNamespace {
			continue
		}
		labels := stringMap(dig(map[string]any(o), "metadata", "labels"))
		annotations := stringMap(dig(map[string]any(o), "metadata", "annotations"))
		if labels[multiClusterLabel] == "true" && annotations[clusterAnnotation] != "" {
			found = append(found, annotations[clusterAnnotation])
		}
	}
	sort.Strings(found)
	return found
}

// controlPlaneOf is the cluster whose istiod serves a remote cluster, as the annotation
// of its system namespace says (what that istiod reads to manage it); empty for a
// cluster that runs its own.
func controlPlaneOf(objects []object) string {
	for _, o := range objects {
		if o.group() == "" && o.kind() == "Namespace" && o.name() == systemNamespace {
			return stringMap(dig(map[string]any(o), "metadata", "annotations"))[controlPlaneAnnotation]
		}
	}
	return ""
}

// addressLoadBalancers gives each LoadBalancer Service without one the address a cloud's
// load balancer would, in its status: the one it asks for (spec.loadBalancerIP, a
// reserved address), else one of a range per cluster.
func addressLoadBalancers(objects []object, index int) {
	n := 0
	for _, o := range objects {
		if o.group() != "" || o.kind() != "Service" || dig(map[string]any(o), "spec", "type") != "LoadBalancer" {
			continue
		}
		if ingress := list(dig(map[string]any(o), "status", "loadBalancer", "ingress")); len(ingress) > 0 {
			continue
		}
		address, _ := dig(map[string]any(o), "spec", "loadBalancerIP").(string)
		if address == "" {
			n++
			address = fmt.Sprintf("172.%d.0.%d", loadBalancerNetwork+index, n)
		}
		o["status"] = map[string]any{"loadBalancer": map[string]any{
			"ingress": []any{map[string]any{"ip": address}},
		}}
	}
}

// nodeObject is the node every pod of a cluster runs on, labelled with the cluster's
// region and zone: where istiod reads an endpoint's locality from.
func nodeObject(c ClusterInput) (string, error) {
	labels := map[string]any{}
	if c.Region != "" {
		labels[regionLabel] = c.Region
	}
	if c.Zone != "" {
		labels[zoneLabel] = c.Zone
	}
	doc, err := yaml.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Node",
		"metadata": map[string]any{"name": judgeNode, "labels": labels},
	})
	return string(doc), err
}

// endpoints lists what EDS gives From's proxy for a Service port (and subset), grouped
// by locality as istiod groups them: its priorities are Istio's locality failover, its
// addresses say whether a remote network is reached through its gateway.
func (j *judge) endpoints(q Query) Answer {
	if q.To == nil {
		return Answer{Error: "an endpoints query needs a target (to)"}
	}
	caller, err := j.proxy(q.From, q.Gateway)
	if err != nil {
		return Answer{Error: err.Error()}
	}
	host := fmt.Sprintf("%s.%s.svc.%s", q.To.Service, q.To.Namespace, j.domain)
	name := fmt.Sprintf("outbound|%d|%s|%s", q.To.Port, q.Subset, host)
	for _, cla := range j.server.Endpoints(caller.proxy) {
		if cla.GetClusterName() != name {
			continue
		}
		a := Answer{Judged: true}
		for _, gw := range j.server.PushContext().NetworkManager().AllGateways() {
			a.NetworkGateways = append(a.NetworkGateways, NetworkGateway{
				Network: string(gw.Network), Cluster: string(gw.Cluster),
				Address: fmt.Sprintf("%s:%d", gw.Addr, gw.Port),
			})
		}
		for _, group := range cla.GetEndpoints() {
			l := group.GetLocality()
			found := LocalityEndpoints{
				Locality: strings.TrimRight(l.GetRegion()+"/"+l.GetZone()+"/"+l.GetSubZone(), "/"),
				Priority: group.GetPriority(),
				Weight:   group.GetLoadBalancingWeight().GetValue(),
			}
			for _, e := range group.GetLbEndpoints() {
				sa := e.GetEndpoint().GetAddress().GetSocketAddress()
				found.Endpoints = append(found.Endpoints, Endpoint{
					Address: fmt.Sprintf("%s:%d", sa.GetAddress(), sa.GetPortValue()),
					Weight:  e.GetLoadBalancingWeight().GetValue(),
				})
			}
			a.Localities = append(a.Localities, found)
		}
		return a
	}
	return Answer{Error: fmt.Sprintf("the proxy of %s/%s has no EDS cluster %s", q.From.Namespace, q.From.Name, name)}
}
