package judge

import (
	"fmt"
	"net/netip"
	"strings"

	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"google.golang.org/protobuf/encoding/protojson"

	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/xds/endpoints"
	"istio.io/istio/pilot/test/xdstest"
	"istio.io/istio/pkg/config/host"
	"istio.io/istio/pkg/workloadapi"
	"istio.io/istio/pkg/workloadapi/security"
)

// Ambient mode: a callee in an ambient namespace runs no sidecar. Its node's ztunnel
// enforces the L4 policy istiod sends it (the WorkloadAuthorization resources of the
// ambient index, read here as ztunnel reads them), and a service bound to a waypoint gets
// its requests through that waypoint's Envoy, whose inbound chain for the service carries
// the L7 policy; ztunnel at the callee then sees the waypoint's identity.

const ambientDataplaneLabel = "istio.io/dataplane-mode"

// connection is what ztunnel knows of an inbound connection.
type connection struct {
	principal string // the peer's SPIFFE URI; "" for plaintext
	destPort  uint32
	sourceIP  string
}

// ambientAccess judges a call to a callee ztunnel serves.
func (j *judge) ambientAccess(q Query, caller *proxyConfig, callee *pod, servicePort any) Answer {
	if j.server.AmbientIndex == nil {
		return Answer{Judged: false, Decided: "ambient callee, but the mesh config does not run ambient (PILOT_ENABLE_AMBIENT)"}
	}
	hostname := fmt.Sprintf("%s.%s.svc.%s", q.To.Service, q.To.Namespace, j.domain)
	principal := ""
	if !q.Plaintext && (caller.pod.ambient || caller.pod.sidecar || caller.pod.gateway || q.Gateway) {
		// ztunnel (an ambient caller) and every Envoy (a sidecar, a gateway installed by the
		// chart or deployed by istiod) send HBONE or mTLS: the caller's identity arrives.
		principal = fmt.Sprintf("spiffe://%s/ns/%s/sa/%s", j.trust, caller.pod.namespace, caller.pod.serviceAccount)
	}
	a := Answer{Judged: true, MTLS: principal != "", Principal: principal}
	denied, allowed := false, true
	target := uint32(callee.targetPort(servicePort))
	wp := j.waypointOf(q.To.Namespace, hostname)
	if wp != nil && !caller.pod.ambient && !j.envoySendsToWaypoint(caller, hostname, q.To.Port, wp) {
		// Istio's sidecars (and gateways without istio.io/ingress-use-waypoint) send to the
		// workload itself: the waypoint, and the policy attached to it, is not on the path.
		ok, decided := j.ztunnelAllows(callee, connection{principal: principal, destPort: target, sourceIP: caller.pod.ip})
		a.Allowed, a.Decided = &ok, fmt.Sprintf("bypasses waypoint %s/%s (the caller's proxy sends to the workload); ztunnel: %s", wp.namespace, wp.deployment, decided)
		return a
	}
	if wp != nil {
		pc, err := j.waypointProxy(wp)
		if err != nil {
			return Answer{Error: err.Error()}
		}
		chain := waypointChain(pc, hostname, q.To.Port)
		if chain == nil {
			a.Allowed, a.Decided = &denied, fmt.Sprintf("waypoint %s/%s has no chain for %s:%d", wp.namespace, wp.deployment, hostname, q.To.Port)
			return a
		}
		r := &request{
			method: methodOf(q), path: pathOf(q), authority: hostname, headers: lowerHeaders(q),
			principal: principal, destPort: uint32(q.To.Port), jwt: q.JWT,
		}
		ok, decided, err := chainAllows(j.t, chain, r)
		if err != nil {
			return Answer{Error: err.Error(), Judged: true}
		}
		if !ok {
			a.Allowed, a.Decided = &denied, "waypoint "+wp.namespace+"/"+wp.deployment+": "+decided
			return a
		}
		// ztunnel at the callee sees the waypoint, not the caller.
		wpPrincipal := fmt.Sprintf("spiffe://%s/ns/%s/sa/%s", j.trust, wp.namespace, wp.serviceAccount)
		zok, zdecided := j.ztunnelAllows(callee, connection{principal: wpPrincipal, destPort: target, sourceIP: wp.ip})
		if !zok {
			a.Allowed, a.Decided = &denied, "ztunnel, from waypoint "+wp.namespace+"/"+wp.deployment+": "+zdecided
			return a
		}
		a.Allowed, a.Decided = &allowed, "waypoint "+wp.namespace+"/"+wp.deployment+": "+decided+"; ztunnel: "+zdecided
		return a
	}
	ok, decided := j.ztunnelAllows(callee, connection{principal: principal, destPort: target, sourceIP: caller.pod.ip})
	a.Allowed, a.Decided = &ok, "ztunnel: "+decided
	return a
}

// waypointOf is the waypoint istiod binds the service to (its ambient index entry), if any.
func (j *judge) waypointOf(namespace, host string) *pod {
	info := j.server.AmbientIndex.ServiceInfo(namespace + "/" + host)
	if info == nil || info.Service.GetWaypoint() == nil {
		return nil
	}
	switch d := info.Service.GetWaypoint().GetDestination().(type) {
	case *workloadapi.GatewayAddress_Hostname:
		name, ns, _ := strings.Cut(strings.TrimSuffix(d.Hostname.GetHostname(), ".svc."+j.domain), ".")
		if d.Hostname.GetNamespace() != "" {
			ns = d.Hostname.GetNamespace()
		}
		return j.servicePod(ns, name)
	case *workloadapi.GatewayAddress_Address:
		ip, ok := netip.AddrFromSlice(d.Address.GetAddress())
		if !ok {
			return nil
		}
		for _, svc := range j.world.services {
			if svc.str("spec", "clusterIP") == ip.String() {
				return j.servicePod(svc.namespace(), svc.name())
			}
		}
	}
	return nil
}

// servicePod is the first instance behind a Service.
func (j *judge) servicePod(namespace, name string) *pod {
	svc, ok := j.world.services[key(namespace, name)]
	if !ok {
		return nil
	}
	selector := stringMap(dig(map[string]any(svc), "spec", "selector"))
	for _, p := range j.world.pods {
		if p.namespace == namespace && selects(selector, p.labels) {
			return p
		}
	}
	return nil
}

// envoySendsToWaypoint reads the endpoints istiod gives an Envoy caller for a service port:
// whether they tunnel to the waypoint's address (ztunnel callers always use a service's
// waypoint; Envoy callers only where istiod routes them so).
func (j *judge) envoySendsToWaypoint(caller *proxyConfig, hostname string, port int, wp *pod) bool {
	cluster := fmt.Sprintf("outbound|%d||%s", port, hostname)
	builder := endpoints.NewEndpointBuilder(cluster, caller.proxy, j.server.PushContext())
	cla := builder.BuildClusterLoadAssignment(j.server.Discovery.Env.EndpointIndex)
	raw, err := protojson.Marshal(cla)
	if err != nil {
		return false
	}
	return strings.Contains(string(raw), wp.ip+":15008")
}

func (j *judge) waypointProxy(wp *pod) (*proxyConfig, error) {
	return j.proxyOf(wp, model.Waypoint)
}

// waypointChain is the waypoint's inbound filter chain for a service port: Istio names it
// after the inbound-vip cluster it ends in (HTTP, else TCP).
func waypointChain(pc *proxyConfig, hostname string, port int) *listener.FilterChain {
	for _, l := range pc.sim.Listeners {
		if l.GetName() != "main_internal" {
			continue
		}
		for _, kind := range []string{"http", "tcp"} {
			name := model.BuildSubsetKey(model.TrafficDirectionInboundVIP, kind, host.Name(hostname), port)
			for _, fc := range l.GetFilterChains() {
				if fc.GetName() == name {
					return fc
				}
			}
		}
	}
	return nil
}

// ztunnelAllows evaluates the authorization istiod sends ztunnel for the callee's workload,
// by ztunnel's rules: a matching DENY denies; with ALLOW policies, one must match.
func (j *judge) ztunnelAllows(callee *pod, c connection) (bool, string) {
	workload := j.ambientWorkload(callee)
	if workload == nil {
		return false, fmt.Sprintf("the ambient index has no workload for %s/%s", callee.namespace, callee.name)
	}
	selected := map[string]bool{}
	for _, name := range workload.GetAuthorizationPolicies() {
		selected[name] = true
	}
	var allows []*security.Authorization
	for _, wa := range j.server.AmbientIndex.Policies(nil) {
		p := wa.Authorization
		applies := false
		switch p.GetScope() {
		case security.Scope_GLOBAL:
			applies = true
		case security.Scope_NAMESPACE:
			applies = p.GetNamespace() == callee.namespace
		case security.Scope_WORKLOAD_SELECTOR:
			applies = selected[p.GetNamespace()+"/"+p.GetName()]
		}
		if !applies || p.GetDryRun() {
			continue
		}
		switch p.GetAction() {
		case security.Action_DENY:
			if authorizationMatches(p, c) {
				return false, "DENY " + p.GetNamespace() + "/" + p.GetName()
			}
		case security.Action_ALLOW:
			allows = append(allows, p)
		}
	}
	if len(allows) == 0 {
		return true, "no ALLOW policy for the workload: allowed"
	}
	for _, p := range allows {
		if authorizationMatches(p, c) {
			return true, "ALLOW " + p.GetNamespace() + "/" + p.GetName()
		}
	}
	return false, "no ALLOW policy matches"
}

func (j *judge) ambientWorkload(p *pod) *workloadapi.Workload {
	for _, info := range j.server.AmbientIndex.All() {
		w := info.GetWorkload()
		if w == nil || w.GetNamespace() != p.namespace {
			continue
		}
		for _, raw := range w.GetAddresses() {
			if ip, ok := netip.AddrFromSlice(raw); ok && ip.String() == p.ip {
				return w
			}
		}
	}
	return nil
}

// authorizationMatches: any group; a group when all its rules do; a rule when any of its
// matches does; a match when every field it sets matches (any value) and no negated one does.
func authorizationMatches(p *security.Authorization, c connection) bool {
	for _, g := range p.GetGroups() {
		all := true
		for _, r := range g.GetRules() {
			any := len(r.GetMatches()) == 0
			for _, m := range r.GetMatches() {
				if matchMatches(m, c) {
					any = true
					break
				}
			}
			if !any {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func matchMatches(m *security.Match, c connection) bool {
	identity := strings.TrimPrefix(c.principal, "spiffe://")
	namespace, account := "", ""
	if parts := strings.Split(identity, "/"); len(parts) == 5 && parts[1] == "ns" && parts[3] == "sa" {
		namespace, account = parts[2], parts[4]
	}
	has := c.principal != ""
	anyString := func(ms []*security.StringMatch, v string, present bool) bool {
		for _, s := range ms {
			if stringMatches(s, v, present) {
				return true
			}
		}
		return false
	}
	anyAccount := func(ms []*security.ServiceAccountMatch) bool {
		for _, s := range ms {
			if has && s.GetNamespace() == namespace && s.GetServiceAccount() == account {
				return true
			}
		}
		return false
	}
	anyPort := func(ps []uint32) bool {
		for _, p := range ps {
			if p == c.destPort {
				return true
			}
		}
		return false
	}
	anyIP := func(as []*security.Address) bool {
		ip, err := netip.ParseAddr(c.sourceIP)
		if err != nil {
			return false
		}
		for _, a := range as {
			base, ok := netip.AddrFromSlice(a.GetAddress())
			if !ok {
				continue
			}
			if prefix, err := base.Prefix(int(a.GetLength())); err == nil && prefix.Contains(ip) {
				return true
			}
		}
		return false
	}
	checks := []struct {
		set, ok bool
	}{
		{len(m.GetNamespaces()) > 0, anyString(m.GetNamespaces(), namespace, has)},
		{len(m.GetNotNamespaces()) > 0, !anyString(m.GetNotNamespaces(), namespace, has)},
		{len(m.GetPrincipals()) > 0, anyString(m.GetPrincipals(), identity, has)},
		{len(m.GetNotPrincipals()) > 0, !anyString(m.GetNotPrincipals(), identity, has)},
		{len(m.GetServiceAccounts()) > 0, anyAccount(m.GetServiceAccounts())},
		{len(m.GetNotServiceAccounts()) > 0, !anyAccount(m.GetNotServiceAccounts())},
		{len(m.GetDestinationPorts()) > 0, anyPort(m.GetDestinationPorts())},
		{len(m.GetNotDestinationPorts()) > 0, !anyPort(m.GetNotDestinationPorts())},
		{len(m.GetSourceIps()) > 0, anyIP(m.GetSourceIps())},
		{len(m.GetNotSourceIps()) > 0, !anyIP(m.GetNotSourceIps())},
	}
	for _, check := range checks {
		if check.set && !check.ok {
			return false
		}
	}
	return true
}

// stringMatches is ztunnel's string match; presence matches any value that is there
// (a plaintext connection has no identity at all).
func stringMatches(s *security.StringMatch, v string, present bool) bool {
	if !present {
		return false
	}
	switch m := s.GetMatchType().(type) {
	case *security.StringMatch_Exact:
		return v == m.Exact
	case *security.StringMatch_Prefix:
		return strings.HasPrefix(v, m.Prefix)
	case *security.StringMatch_Suffix:
		return strings.HasSuffix(v, m.Suffix)
	case *security.StringMatch_Presence:
		return true
	}
	return false
}

// routeFromZtunnel answers where an ambient caller's request goes: ztunnel sends a call to
// a service with a waypoint to that waypoint, whose inbound chain for the service routes
// it (the service's VirtualServices or HTTPRoutes, as istiod built them for the waypoint);
// without a waypoint ztunnel forwards the connection to the service's endpoints unrouted.
func (j *judge) routeFromZtunnel(q Query, caller *proxyConfig) Answer {
	hostname := q.Host
	namespace := ""
	if parts := strings.Split(strings.TrimSuffix(hostname, ".svc."+j.domain), "."); len(parts) == 2 {
		namespace = parts[1]
	}
	wp := j.waypointOf(namespace, hostname)
	if wp == nil {
		return Answer{Outcome: "tcp", Listener: "ztunnel", Backends: []Backend{{
			Cluster: fmt.Sprintf("outbound|%d||%s", q.Port, hostname), Weight: 100, Host: hostname, Port: q.Port,
		}}}
	}
	pc, err := j.waypointProxy(wp)
	if err != nil {
		return Answer{Error: err.Error()}
	}
	chain := waypointChain(pc, hostname, q.Port)
	a := Answer{Listener: "waypoint " + wp.namespace + "/" + wp.deployment}
	if chain == nil {
		a.Outcome, a.Error = "not found", fmt.Sprintf("waypoint %s/%s has no chain for %s:%d", wp.namespace, wp.deployment, hostname, q.Port)
		return a
	}
	hcm := xdstest.ExtractHTTPConnectionManager(j.t, chain)
	if hcm == nil {
		a.Outcome = "tcp"
		return a
	}
	rc := hcm.GetRouteConfig()
	if name := hcm.GetRds().GetRouteConfigName(); name != "" {
		rc = xdstest.ExtractRouteConfigurations(pc.sim.Routes)[name]
	}
	a.RouteConfig = rc.GetName()
	var vh *route.VirtualHost
	authority := fmt.Sprintf("%s:%d", hostname, q.Port)
	for _, v := range rc.GetVirtualHosts() {
		for _, d := range v.GetDomains() {
			if d == hostname || d == authority || (d == "*" && vh == nil) {
				vh = v
			}
		}
	}
	if vh == nil {
		a.Outcome = "not found"
		return a
	}
	a.VirtualHost = vh.GetName()
	principal := fmt.Sprintf("spiffe://%s/ns/%s/sa/%s", j.trust, caller.pod.namespace, caller.pod.serviceAccount)
	r := &request{
		method: methodOf(q), path: pathOf(q), authority: hostname, headers: lowerHeaders(q),
		jwt: q.JWT, destPort: uint32(q.Port), principal: principal,
	}
	allowed, decided, err := chainAllows(j.t, chain, r)
	if err != nil {
		a.Outcome, a.Error = "error", err.Error()
		return a
	}
	a.Judged, a.Allowed, a.Decided, a.MTLS, a.Principal = true, &allowed, "waypoint: "+decided, true, principal
	return j.followRoute(pc, vh, r, a)
}
