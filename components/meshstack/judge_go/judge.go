package judge

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	clusterpb "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corepb "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	rbacpb "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	faultpb "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	rbachttp "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	rbacnet "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/rbac/v3"
	tlspb "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	typepb "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"istio.io/api/envoy/extensions/stats"
	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pilot/test/xdstest"
	"istio.io/istio/pkg/cluster"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/config/schema/gvk"
	xdsfilters "istio.io/istio/pkg/config/xds"
	"istio.io/istio/pkg/network"
)

// Input is one question file: the objects, the mesh config istiod would run with, and the
// requests to judge.
type Input struct {
	// Clusters, when set, make a multi-cluster question (multicluster.go): Objects is
	// then unused, and each query names the cluster its caller runs in.
	Clusters []ClusterInput `json:"clusters,omitempty"`
	// CertificateAuthorities, when set, make a trust question (trust.go): do the
	// clusters' plug-in CAs share a root; Objects and Queries are then unused.
	CertificateAuthorities []CAInput `json:"certificateAuthorities,omitempty"`
	Objects                string    `json:"objects"`
	MeshConfig             string    `json:"meshConfig"`
	Domain                 string    `json:"domain"`
	Queries                []Query   `json:"queries"`
}

// Workload names a Deployment: its first replica is the proxy asked.
type Workload struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// Target is a Service port a caller reaches.
type Target struct {
	// Cluster: where the callee instance asked runs (multi-cluster questions); the
	// caller's own cluster when empty.
	Cluster   string `json:"cluster,omitempty"`
	Namespace string `json:"namespace"`
	Service   string `json:"service"`
	Port      int    `json:"port"`
}

// Query is one request. Kind "access": may From call To (the callee's inbound policy,
// with the TLS the caller's own outbound cluster speaks). Kind "route": where does From's
// proxy (a sidecar, or a gateway when Gateway is set) send the request.
type Query struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Cluster: where From runs (multi-cluster questions only).
	Cluster string `json:"cluster,omitempty"`
	// Subset: the DestinationRule subset whose endpoints an "endpoints" query lists.
	Subset  string            `json:"subset,omitempty"`
	From    Workload          `json:"from"`
	Gateway bool              `json:"gateway"`
	To      *Target           `json:"to,omitempty"`
	Host    string            `json:"host,omitempty"`
	Port    int               `json:"port,omitempty"`
	Path    string            `json:"path,omitempty"`
	Method  string            `json:"method,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	TLS     bool              `json:"tls,omitempty"`
	// MTLS: the request arrives over Istio mTLS (a sidecar calling a gateway), from the
	// identity Principal (a SPIFFE URI); the gateway's own RBAC then judges it.
	MTLS      bool           `json:"mtls,omitempty"`
	Principal string         `json:"principal,omitempty"`
	Protocol  string         `json:"protocol,omitempty"`
	JWT       map[string]any `json:"jwt,omitempty"`
	// Plaintext: the caller speaks no mTLS whatever its cluster says (a client outside
	// the mesh, or a sidecar passing the request through).
	Plaintext bool `json:"plaintext,omitempty"`
}

// Backend is one cluster a route sends to, with its share and the policy istiod gave it.
type Backend struct {
	Cluster string         `json:"cluster"`
	Weight  uint32         `json:"weight"`
	Host    string         `json:"host,omitempty"`
	Port    int            `json:"port,omitempty"`
	Subset  string         `json:"subset,omitempty"`
	Policy  *ClusterPolicy `json:"policy,omitempty"`
}

// ClusterPolicy is what the proxy does on the way to a cluster.
type ClusterPolicy struct {
	LbPolicy           string `json:"lbPolicy"`
	MaxConnections     uint32 `json:"maxConnections,omitempty"`
	MaxPendingRequests uint32 `json:"maxPendingRequests,omitempty"`
	MaxRequests        uint32 `json:"maxRequests,omitempty"`
	Consecutive5xx     uint32 `json:"consecutive5xx,omitempty"`
	Outlier            bool   `json:"outlierDetection"`
	// LocalityWeighted: the cluster balances by locality (Envoy's locality-weighted LB),
	// which Istio sets for a distribution, and for failover only beside outlier detection.
	LocalityWeighted bool   `json:"localityWeighted"`
	TLS              string `json:"tls"`
	SNI              string `json:"sni,omitempty"`
}

// Fault is the fault filter's configuration on the matched route.
type Fault struct {
	DelayMs      int64   `json:"delayMs,omitempty"`
	DelayPercent float64 `json:"delayPercent,omitempty"`
	AbortStatus  uint32  `json:"abortStatus,omitempty"`
	AbortPercent float64 `json:"abortPercent,omitempty"`
}

// Mirror is one request mirror policy.
type Mirror struct {
	Cluster string  `json:"cluster"`
	Percent float64 `json:"percent"`
}

// Retry is the matched route's retry policy.
type Retry struct {
	Attempts        uint32 `json:"attempts"`
	RetryOn         string `json:"retryOn"`
	PerTryTimeoutMs int64  `json:"perTryTimeoutMs,omitempty"`
}

// Redirect is a route's redirect action.
type Redirect struct {
	Scheme string `json:"scheme,omitempty"`
	Host   string `json:"host,omitempty"`
	Path   string `json:"path,omitempty"`
	Code   string `json:"code"`
}

// Answer is what Istio's generated configuration says about one query.
type Answer struct {
	ID    string `json:"id"`
	Error string `json:"error,omitempty"`
	// access
	Allowed   *bool  `json:"allowed,omitempty"`
	Decided   string `json:"decided,omitempty"`
	MTLS      bool   `json:"mtls,omitempty"`
	Principal string `json:"principal,omitempty"`
	Judged    bool   `json:"judged"`
	// route
	Listener       string    `json:"listener,omitempty"`
	RouteConfig    string    `json:"routeConfig,omitempty"`
	VirtualHost    string    `json:"virtualHost,omitempty"`
	Route          string    `json:"route,omitempty"`
	Outcome        string    `json:"outcome,omitempty"`
	Backends       []Backend `json:"backends,omitempty"`
	Redirect       *Redirect `json:"redirect,omitempty"`
	DirectResponse uint32    `json:"directResponse,omitempty"`
	Fault          *Fault    `json:"fault,omitempty"`
	Mirrors        []Mirror  `json:"mirrors,omitempty"`
	TimeoutMs      *int64    `json:"timeoutMs,omitempty"`
	Retry          *Retry    `json:"retry,omitempty"`
	// Stats: the dimensions Istio's stats filter adds to or overrides on each metric
	// (by its Prometheus name, "requests_total") on the chain that took the request,
	// each with the attribute expression that gives its value.
	Stats map[string]map[string]string `json:"stats,omitempty"`
	// StatsFilter: the chain has Istio's stats filter at all (no metrics without it).
	StatsFilter bool `json:"statsFilter"`
	// listeners: what istiod generated for the proxy, and the gateways it merged for it
	Listeners []string `json:"listeners,omitempty"`
	Gateways  []string `json:"gateways,omitempty"`
	// endpoints: what EDS gives the caller for one outbound cluster, by locality
	Localities      []LocalityEndpoints `json:"localities,omitempty"`
	NetworkGateways []NetworkGateway    `json:"networkGateways,omitempty"`
}

// Output is the answer file.
type Output struct {
	Answers      []Answer       `json:"answers"`
	SkippedKinds map[string]int `json:"skippedKinds"`
	Pods         int            `json:"pods"`
	// A trust question's answers: each CA as Istio built it, and each signer/verifier pair.
	CAs   []CAAnswer    `json:"cas,omitempty"`
	Trust []TrustAnswer `json:"trust,omitempty"`
}

type proxyConfig struct {
	proxy    *model.Proxy
	sim      *simulation.Simulation
	clusters map[string]*clusterpb.Cluster
	pod      *pod
}

type judge struct {
	// cluster, network and locality: where this istiod and its proxies run (empty
	// alone); peers: every cluster's judge of a multi-cluster question, by name.
	cluster  string
	network  string
	locality *corepb.Locality
	peers    map[string]*judge
	t        *testing.T
	world    *world
	server   *xds.FakeDiscoveryServer
	domain   string
	trust    string
	proxies  map[string]*proxyConfig
}

// Judge feeds the objects to Istio's fake discovery server and answers every query.
func Judge(t *testing.T, input Input) (*Output, error) {
	if len(input.CertificateAuthorities) > 0 {
		return judgeTrust(input)
	}
	if len(input.Clusters) > 0 {
		return judgeClusters(t, input)
	}
	objects, err := parseObjects(input.Objects)
	if err != nil {
		return nil, err
	}
	domain := input.Domain
	if domain == "" {
		domain = "cluster.local"
	}
	w, err := buildWorld(objects, domain, 0)
	if err != nil {
		return nil, err
	}
	meshConfig, err := mesh.ApplyMeshConfigDefaults(input.MeshConfig)
	if err != nil {
		return nil, fmt.Errorf("the mesh config is not valid: %w", err)
	}
	configs, err := istioConfigs(w, domain)
	if err != nil {
		return nil, err
	}
	server := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		Configs:                configs,
		KubernetesObjectString: strings.Join(w.kubeObjects, "\n---\n"),
		MeshConfig:             meshConfig,
	})
	j := &judge{t: t, world: w, server: server, domain: domain, trust: meshConfig.GetTrustDomain(), proxies: map[string]*proxyConfig{}}
	out := &Output{SkippedKinds: w.skippedKinds, Pods: len(w.pods)}
	for _, q := range input.Queries {
		a := j.answer(q)
		a.ID = q.ID
		out.Answers = append(out.Answers, a)
	}
	return out, nil
}

// istioConfigs parses a world's Istio objects as istiod's config store holds them.
func istioConfigs(w *world, domain string) ([]config.Config, error) {
	configs, _, err := crd.ParseInputs(strings.Join(w.istioConfig, "\n---\n"))
	if err != nil {
		return nil, fmt.Errorf("Istio refuses the configuration: %w", err)
	}
	// Configs read from YAML carry no domain; istiod's CRD client sets it, and without
	// it short hosts resolve to "<name>.<namespace>" and bind to no service.
	for i := range configs {
		configs[i].Domain = domain
	}
	return configs, nil
}

// answer is Istio's answer to one query, from this cluster's istiod and proxies.
func (j *judge) answer(q Query) Answer {
	switch q.Kind {
	case "access":
		return j.access(q)
	case "route":
		return j.route(q)
	case "listeners":
		return j.listeners(q)
	case "endpoints":
		return j.endpoints(q)
	}
	return Answer{Error: fmt.Sprintf("unknown query kind %q (access, route, listeners, endpoints)", q.Kind)}
}

// peer is the judge of a named cluster: this one when the name is empty or its own.
func (j *judge) peer(name string) (*judge, error) {
	if name == "" || name == j.cluster {
		return j, nil
	}
	if p, ok := j.peers[name]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("no cluster %q in the question", name)
}

func (j *judge) proxy(w Workload, gateway bool) (*proxyConfig, error) {
	p := j.world.firstPod(w.Namespace, w.Name)
	if p == nil {
		return nil, fmt.Errorf("no Deployment %s/%s (there: %s)", w.Namespace, w.Name,
			strings.Join(j.world.deploymentsIn(w.Namespace), ", "))
	}
	kind := model.SidecarProxy
	if gateway {
		kind = model.Router
	}
	return j.proxyOf(p, kind)
}

// proxyOf is the configuration istiod generates for an instance as a proxy of a kind
// (a sidecar, a gateway, a waypoint), built once.
func (j *judge) proxyOf(p *pod, kind model.NodeType) (*proxyConfig, error) {
	k := fmt.Sprintf("%s/%s/%s", p.namespace, p.name, kind)
	if pc, ok := j.proxies[k]; ok {
		return pc, nil
	}
	proxy := j.server.SetupProxy(&model.Proxy{
		Type:            kind,
		ID:              p.name + "." + p.namespace,
		IPAddresses:     []string{p.ip},
		ConfigNamespace: p.namespace,
		DNSDomain:       p.namespace + ".svc." + j.domain,
		Labels:          p.labels,
		Metadata: &model.NodeMetadata{
			Namespace:      p.namespace,
			Labels:         p.labels,
			ServiceAccount: p.serviceAccount,
			IstioVersion:   "1.31.0",
			// Set in a multi-cluster question, as the injector's environment would
			// (ISTIO_META_CLUSTER_ID, ISTIO_META_NETWORK) and the node the pod runs on.
			ClusterID: cluster.ID(j.cluster),
			Network:   network.ID(j.network),
		},
		Locality: j.locality,
	})
	sim := simulation.NewSimulation(j.t, j.server, proxy)
	pc := &proxyConfig{proxy: proxy, sim: sim, clusters: xdstest.ExtractClusters(sim.Clusters), pod: p}
	j.proxies[k] = pc
	return pc, nil
}

func (j *judge) servicePort(t *Target) (any, error) {
	svc, ok := j.world.services[key(t.Namespace, t.Service)]
	if !ok {
		return nil, fmt.Errorf("no Service %s/%s", t.Namespace, t.Service)
	}
	for _, sp := range list(dig(map[string]any(svc), "spec", "ports")) {
		if number(dig(sp, "port")) == t.Port {
			return sp, nil
		}
	}
	return nil, fmt.Errorf("Service %s/%s has no port %d", t.Namespace, t.Service, t.Port)
}

func protocolOf(q Query) simulation.Protocol {
	switch q.Protocol {
	case "tcp":
		return simulation.TCP
	case "http2", "grpc":
		return simulation.HTTP2
	}
	return simulation.HTTP
}

// upstreamMTLS says whether the caller's proxy speaks Istio mTLS on a cluster: an explicit
// ISTIO_MUTUAL transport socket, or auto-mTLS's match on endpoints labelled tlsMode=istio
// (which the callee's pods carry when they run a sidecar).
func upstreamMTLS(c *clusterpb.Cluster, calleeHasSidecar bool) bool {
	if c == nil {
		return false
	}
	if isIstioMutual(c.GetTransportSocket()) {
		return true
	}
	for _, m := range c.GetTransportSocketMatches() {
		want := m.GetMatch().GetFields()["tlsMode"].GetStringValue()
		if want == "istio" && calleeHasSidecar && isIstioMutual(m.GetTransportSocket()) {
			return true
		}
	}
	return false
}

func isIstioMutual(ts *corepb.TransportSocket) bool {
	kind, _ := tlsOf(ts)
	return kind == "ISTIO_MUTUAL"
}

// tlsOf reads an upstream transport socket: Istio's own certificate (SDS "default") is
// ISTIO_MUTUAL; any other TLS context is SIMPLE (or MUTUAL with a client certificate).
func tlsOf(ts *corepb.TransportSocket) (string, string) {
	if ts == nil || ts.GetTypedConfig() == nil {
		return "none", ""
	}
	ctx := &tlspb.UpstreamTlsContext{}
	if err := ts.GetTypedConfig().UnmarshalTo(ctx); err != nil {
		return "unknown", ""
	}
	sds := ctx.GetCommonTlsContext().GetTlsCertificateSdsSecretConfigs()
	if len(sds) > 0 && sds[0].GetName() == "default" {
		return "ISTIO_MUTUAL", ctx.GetSni()
	}
	if len(sds) > 0 || len(ctx.GetCommonTlsContext().GetTlsCertificates()) > 0 {
		return "MUTUAL", ctx.GetSni()
	}
	return "SIMPLE", ctx.GetSni()
}

// clusterTLS: the cluster's own transport socket, or auto-mTLS's (ISTIO_MUTUAL to
// endpoints that run a sidecar, plaintext to the others).
func clusterTLS(c *clusterpb.Cluster) (string, string) {
	if c.GetTransportSocket() != nil {
		return tlsOf(c.GetTransportSocket())
	}
	for _, m := range c.GetTransportSocketMatches() {
		if m.GetMatch().GetFields()["tlsMode"].GetStringValue() == "istio" {
			kind, sni := tlsOf(m.GetTransportSocket())
			return kind + " (auto)", sni
		}
	}
	return "none", ""
}

func (j *judge) access(q Query) Answer {
	if q.To == nil {
		return Answer{Error: "an access query needs a target (to)"}
	}
	caller, err := j.proxy(q.From, q.Gateway)
	if err != nil {
		return Answer{Error: err.Error()}
	}
	sp, err := j.servicePort(q.To)
	if err != nil {
		return Answer{Error: err.Error()}
	}
	// The callee's instance, its proxy and its istiod are its own cluster's.
	at, err := j.peer(q.To.Cluster)
	if err != nil {
		return Answer{Error: err.Error()}
	}
	callee := at.servicePod(q.To.Namespace, q.To.Service)
	if callee == nil {
		return Answer{Judged: false, Decided: fmt.Sprintf("no instance backs Service %s/%s", q.To.Namespace, q.To.Service)}
	}
	if callee.ambient {
		if at != j {
			return Answer{Error: "an ambient callee in another cluster is not judged (ztunnel's multi-network path)"}
		}
		return j.ambientAccess(q, caller, callee, sp)
	}
	if !callee.sidecar {
		// A workload without a proxy enforces nothing.
		return Answer{Judged: false, Decided: "callee runs no proxy (neither a sidecar nor ambient)"}
	}
	host := fmt.Sprintf("%s.%s.svc.%s", q.To.Service, q.To.Namespace, j.domain)
	cluster := caller.clusters[fmt.Sprintf("outbound|%d||%s", q.To.Port, host)]
	mtls := upstreamMTLS(cluster, callee.sidecar) && !q.Plaintext
	principal := ""
	if mtls {
		principal = fmt.Sprintf("spiffe://%s/ns/%s/sa/%s", j.trust, caller.pod.namespace, caller.pod.serviceAccount)
	}
	target := callee.targetPort(sp)
	calleeProxy, err := at.proxy(Workload{callee.namespace, callee.deployment}, false)
	if err == nil && callee.machine && len(calleeProxy.sim.Listeners) == 0 {
		err = fmt.Errorf("Istio built no listeners for the machine %s/%s", callee.namespace, callee.name)
	}
	if err != nil {
		return Answer{Error: err.Error()}
	}
	var chain *listener.FilterChain
	tls := simulation.Plaintext
	alpn := ""
	if mtls {
		tls = simulation.MTLS
	}
	protocol := protocolOf(q)
	if mtls {
		switch protocol {
		case simulation.HTTP:
			alpn = "istio-http/1.1"
		case simulation.HTTP2:
			alpn = "istio-h2"
		default:
			alpn = "istio"
		}
	}
	result := calleeProxy.sim.Run(simulation.Call{
		Port: target, Path: pathOf(q), Protocol: protocol, TLS: tls, Alpn: alpn,
		CallMode: simulation.CallModeInbound, HostHeader: host,
		Headers:                   httpHeaders(q),
		CustomListenerValidations: []simulation.CustomFilterChainValidation{func(fc *listener.FilterChain) error { chain = fc; return nil }},
	})
	a := Answer{Judged: true, MTLS: mtls, Principal: principal}
	denied := false
	if result.Error != nil || chain == nil {
		why := "no filter chain"
		if result.Error != nil {
			why = result.Error.Error()
		}
		a.Allowed, a.Decided = &denied, "connection refused: "+why
		return a
	}
	r := &request{
		method: methodOf(q), path: pathOf(q), authority: host, headers: lowerHeaders(q),
		principal: principal, destPort: uint32(target), jwt: q.JWT,
	}
	allowed, decided, err := chainAllows(at.t, chain, r)
	if err != nil {
		return Answer{Error: err.Error(), Judged: true}
	}
	a.Allowed, a.Decided = &allowed, decided
	return a
}

// listeners names the proxy's listeners and the Istio Gateways istiod merged for it (a
// Gateway API Gateway appears as the one istiod's controller translated it into): what
// to look at when a request finds no listener.
func (j *judge) listeners(q Query) Answer {
	pc, err := j.proxy(q.From, q.Gateway)
	if err != nil {
		return Answer{Error: err.Error()}
	}
	a := Answer{}
	for _, l := range pc.sim.Listeners {
		a.Listeners = append(a.Listeners, l.GetName())
	}
	if mg := pc.proxy.MergedGateway; mg != nil {
		for name := range mg.GatewayNameForServer {
			a.Gateways = append(a.Gateways, name.String())
		}
	}
	for _, c := range j.server.Env().ConfigStore.List(gvk.Gateway, "") {
		a.Gateways = append(a.Gateways, fmt.Sprintf("known: %s/%s %v", c.Namespace, c.Name, c.Annotations))
	}
	for _, c := range j.server.Env().ConfigStore.List(gvk.KubernetesGateway, "") {
		a.Gateways = append(a.Gateways, fmt.Sprintf("gateway api: %s/%s %v", c.Namespace, c.Name, c.Status))
	}
	return a
}

func pathOf(q Query) string {
	if q.Path == "" {
		return "/"
	}
	return q.Path
}

func methodOf(q Query) string {
	if q.Method == "" {
		return "GET"
	}
	return strings.ToUpper(q.Method)
}

func httpHeaders(q Query) http.Header {
	h := http.Header{}
	for k, v := range q.Headers {
		h.Set(k, v)
	}
	return h
}

func lowerHeaders(q Query) map[string]string {
	out := map[string]string{}
	for k, v := range q.Headers {
		out[strings.ToLower(k)] = v
	}
	return out
}

// chainRBAC is the RBAC configuration of each RBAC filter of a filter chain, in the
// order Envoy runs them: the HTTP filters when the chain ends in an HTTP connection
// manager, the network filters otherwise. A filter without rules does nothing.
func chainRBAC(t *testing.T, chain *listener.FilterChain) ([]*rbacpb.RBAC, error) {
	var found []*rbacpb.RBAC
	if hcm := xdstest.ExtractHTTPConnectionManager(t, chain); hcm != nil {
		for _, f := range hcm.GetHttpFilters() {
			if f.GetName() != "envoy.filters.http.rbac" {
				continue
			}
			cfg := &rbachttp.RBAC{}
			if err := f.GetTypedConfig().UnmarshalTo(cfg); err != nil {
				return nil, err
			}
			if cfg.GetRules() != nil {
				found = append(found, cfg.GetRules())
			}
		}
		return found, nil
	}
	for _, f := range chain.GetFilters() {
		if f.GetName() != "envoy.filters.network.rbac" {
			continue
		}
		cfg := &rbacnet.RBAC{}
		if err := f.GetTypedConfig().UnmarshalTo(cfg); err != nil {
			return nil, err
		}
		if cfg.GetRules() != nil {
			found = append(found, cfg.GetRules())
		}
	}
	return found, nil
}

// statsDimensions reads the istio.stats HTTP filter of a chain: per metric, the
// dimensions a Telemetry's tag overrides added (name → attribute expression).
func statsDimensions(t *testing.T, chain *listener.FilterChain) (map[string]map[string]string, bool, error) {
	hcm := xdstest.ExtractHTTPConnectionManager(t, chain)
	if hcm == nil {
		return nil, false, nil
	}
	out := map[string]map[string]string{}
	found := false
	for _, f := range hcm.GetHttpFilters() {
		if f.GetName() != xdsfilters.StatsFilterName {
			continue
		}
		found = true
		cfg := &stats.PluginConfig{}
		if err := f.GetTypedConfig().UnmarshalTo(cfg); err != nil {
			return nil, false, fmt.Errorf("the stats filter's configuration: %w", err)
		}
		for _, m := range cfg.GetMetrics() {
			dims := out[m.GetName()]
			if dims == nil {
				dims = map[string]string{}
				out[m.GetName()] = dims
			}
			for name, value := range m.GetDimensions() {
				dims[name] = value
			}
		}
	}
	return out, found, nil
}

// chainAllows runs the RBAC filters of a filter chain in their order: the first that
// denies decides; otherwise the last ALLOW filter's matching policy is the reason.
func chainAllows(t *testing.T, chain *listener.FilterChain, r *request) (bool, string, error) {
	filters, err := chainRBAC(t, chain)
	if err != nil {
		return false, "", err
	}
	decided := "no RBAC filter: allowed"
	for _, rules := range filters {
		d, err := evaluateRBAC(rules, r)
		if err != nil {
			return false, "", err
		}
		if d.denied {
			return false, d.action + ": " + d.policy, nil
		}
		if d.action == "ALLOW" {
			decided = "ALLOW: " + d.policy
		}
	}
	return true, decided, nil
}

func percent(f *typepb.FractionalPercent) float64 {
	if f == nil {
		return 100
	}
	n := float64(f.GetNumerator())
	switch f.GetDenominator() {
	case typepb.FractionalPercent_TEN_THOUSAND:
		return n / 100
	case typepb.FractionalPercent_MILLION:
		return n / 10000
	}
	return n
}

func parseCluster(name string) (host string, port int, subset string) {
	parts := strings.Split(name, "|")
	if len(parts) != 4 {
		return "", 0, ""
	}
	port, _ = strconv.Atoi(parts[1])
	return parts[3], port, parts[2]
}

func (j *judge) backend(pc *proxyConfig, name string, weight uint32) Backend {
	host, port, subset := parseCluster(name)
	b := Backend{Cluster: name, Weight: weight, Host: host, Port: port, Subset: subset}
	if c, ok := pc.clusters[name]; ok {
		policy := &ClusterPolicy{
			LbPolicy:         c.GetLbPolicy().String(),
			Outlier:          c.GetOutlierDetection() != nil,
			LocalityWeighted: c.GetCommonLbConfig().GetLocalityWeightedLbConfig() != nil,
		}
		if th := c.GetCircuitBreakers().GetThresholds(); len(th) > 0 {
			policy.MaxConnections = th[0].GetMaxConnections().GetValue()
			policy.MaxPendingRequests = th[0].GetMaxPendingRequests().GetValue()
			policy.MaxRequests = th[0].GetMaxRequests().GetValue()
		}
		if od := c.GetOutlierDetection(); od != nil {
			policy.Consecutive5xx = od.GetConsecutive_5Xx().GetValue()
		}
		policy.TLS, policy.SNI = clusterTLS(c)
		b.Policy = policy
	}
	return b
}

func (j *judge) route(q Query) Answer {
	pc, err := j.proxy(q.From, q.Gateway)
	if err != nil {
		return Answer{Error: err.Error()}
	}
	if pc.pod.ambient && !q.Gateway {
		return j.routeFromZtunnel(q, pc)
	}
	mode := simulation.CallModeOutbound
	if q.Gateway {
		mode = simulation.CallModeGateway
	}
	tls := simulation.Plaintext
	if q.TLS {
		tls = simulation.TLS
	}
	var chain *listener.FilterChain
	call := simulation.Call{
		Port: q.Port, Path: pathOf(q), Protocol: protocolOf(q), TLS: tls, HostHeader: q.Host,
		Headers: httpHeaders(q), CallMode: mode,
		CustomListenerValidations: []simulation.CustomFilterChainValidation{func(fc *listener.FilterChain) error { chain = fc; return nil }},
	}
	if q.MTLS {
		call.TLS, call.Sni, call.Alpn = simulation.MTLS, q.Host, "istio-http/1.1"
	}
	if !q.Gateway {
		if addr := j.serviceAddress(q.Host); addr != "" {
			call.Address = addr
		}
	}
	result := pc.sim.Run(call)
	a := Answer{Listener: result.ListenerMatched, RouteConfig: result.RouteConfigMatched, VirtualHost: result.VirtualHostMatched}
	switch result.Error {
	case nil, simulation.ErrNoRoute:
	case simulation.ErrTLSRedirect:
		a.Outcome = "redirect"
		a.Redirect = &Redirect{Scheme: "https", Code: "MOVED_PERMANENTLY"}
		return a
	case simulation.ErrNoVirtualHost, simulation.ErrNoListener, simulation.ErrNoFilterChain:
		a.Outcome = "not found"
		a.Error = result.Error.Error()
		return a
	default:
		a.Outcome = "error"
		a.Error = result.Error.Error()
		return a
	}
	if a.VirtualHost == "" {
		// a TCP proxy took it
		a.Outcome = "tcp"
		if result.ClusterMatched != "" {
			a.Backends = []Backend{j.backend(pc, result.ClusterMatched, 100)}
		}
		return a
	}
	rc := xdstest.ExtractRouteConfigurations(pc.sim.Routes)[a.RouteConfig]
	var vh *route.VirtualHost
	for _, v := range rc.GetVirtualHosts() {
		if v.GetName() == a.VirtualHost {
			vh = v
		}
	}
	if vh == nil {
		a.Outcome, a.Error = "error", "virtual host not found in its route configuration"
		return a
	}
	r := &request{method: methodOf(q), path: pathOf(q), authority: q.Host, headers: lowerHeaders(q), jwt: q.JWT, destPort: uint32(q.Port)}
	if q.MTLS {
		r.principal = q.Principal
	}
	if chain != nil {
		dims, found, err := statsDimensions(j.t, chain)
		if err != nil {
			a.Outcome, a.Error = "error", err.Error()
			return a
		}
		a.Stats, a.StatsFilter = dims, found
	}
	if q.Gateway && chain != nil {
		// A gateway enforces its own AuthorizationPolicies on the chain that took the request.
		allowed, decided, err := chainAllows(j.t, chain, r)
		if err != nil {
			a.Outcome, a.Error = "error", err.Error()
			return a
		}
		a.Judged, a.Allowed, a.Decided = true, &allowed, decided
		a.MTLS, a.Principal = q.MTLS, r.principal
	}
	return j.followRoute(pc, vh, r, a)
}

// followRoute takes the first route of a virtual host that matches the request, by
// Envoy's matching, and reads what it does.
func (j *judge) followRoute(pc *proxyConfig, vh *route.VirtualHost, r *request, a Answer) Answer {
	var matched *route.Route
	for _, candidate := range vh.GetRoutes() {
		ok, err := routeMatches(candidate.GetMatch(), r)
		if err != nil {
			a.Outcome, a.Error = "error", err.Error()
			return a
		}
		if ok {
			matched = candidate
			break
		}
	}
	if matched == nil {
		a.Outcome = "not found"
		return a
	}
	a.Route = matched.GetName()
	if f, ok := matched.GetTypedPerFilterConfig()["envoy.filters.http.fault"]; ok {
		cfg := &faultpb.HTTPFault{}
		if err := f.UnmarshalTo(cfg); err == nil {
			fault := &Fault{}
			if d := cfg.GetDelay(); d != nil {
				fault.DelayMs = d.GetFixedDelay().AsDuration().Milliseconds()
				fault.DelayPercent = percent(d.GetPercentage())
			}
			if ab := cfg.GetAbort(); ab != nil {
				fault.AbortStatus = ab.GetHttpStatus()
				fault.AbortPercent = percent(ab.GetPercentage())
			}
			a.Fault = fault
		}
	}
	switch action := matched.GetAction().(type) {
	case *route.Route_Redirect:
		a.Outcome = "redirect"
		rd := action.Redirect
		a.Redirect = &Redirect{Scheme: rd.GetSchemeRedirect(), Host: rd.GetHostRedirect(), Path: rd.GetPathRedirect(), Code: rd.GetResponseCode().String()}
		if rd.GetHttpsRedirect() {
			a.Redirect.Scheme = "https"
		}
	case *route.Route_DirectResponse:
		a.Outcome = "direct response"
		a.DirectResponse = action.DirectResponse.GetStatus()
	case *route.Route_Route:
		a.Outcome = "route"
		ra := action.Route
		if wc := ra.GetWeightedClusters(); wc != nil {
			for _, c := range wc.GetClusters() {
				a.Backends = append(a.Backends, j.backend(pc, c.GetName(), c.GetWeight().GetValue()))
			}
		} else {
			a.Backends = []Backend{j.backend(pc, ra.GetCluster(), 100)}
		}
		if ra.GetTimeout() != nil {
			ms := ra.GetTimeout().AsDuration().Milliseconds()
			a.TimeoutMs = &ms
		}
		retry := ra.GetRetryPolicy()
		if retry == nil {
			retry = vh.GetRetryPolicy()
		}
		if retry != nil {
			attempts := uint32(1) // Envoy's default num_retries
			if retry.GetNumRetries() != nil {
				attempts = retry.GetNumRetries().GetValue()
			}
			a.Retry = &Retry{Attempts: attempts, RetryOn: retry.GetRetryOn()}
			if retry.GetPerTryTimeout() != nil {
				a.Retry.PerTryTimeoutMs = retry.GetPerTryTimeout().AsDuration().Milliseconds()
			}
		}
		for _, m := range ra.GetRequestMirrorPolicies() {
			pct := 100.0
			if rf := m.GetRuntimeFraction(); rf != nil {
				pct = percent(rf.GetDefaultValue())
			}
			a.Mirrors = append(a.Mirrors, Mirror{Cluster: m.GetCluster(), Percent: pct})
		}
	}
	return a
}

// serviceAddress is the cluster IP a sidecar's caller dials for a host, when the host is
// a Service that has one (outbound listeners are keyed by it).
func (j *judge) serviceAddress(host string) string {
	name := strings.SplitN(host, ".", 3)
	for _, svc := range j.world.services {
		if svc.name() != name[0] {
			continue
		}
		if len(name) > 1 && svc.namespace() != name[1] {
			continue
		}
		if ip := svc.str("spec", "clusterIP"); ip != "" && ip != "None" {
			return ip
		}
	}
	return ""
}
