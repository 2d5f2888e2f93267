package judge

// Envoy's RBAC filter, evaluated on the policies istiod generated: a filter whose action
// is ALLOW lets a request through only when some policy matches it; DENY stops it when
// one does; LOG (Istio's AUDIT) never stops it. Filters run in the order istiod chained
// them (Istio puts DENY before ALLOW). A policy matches when any of its permissions and
// any of its principals match.

import (
	"fmt"
	"sort"

	rbacpb "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
)

// rbacDecision is one filter's say on a request.
type rbacDecision struct {
	denied bool
	policy string // the matching policy's name, or why none did
	action string
}

func evaluateRBAC(rules *rbacpb.RBAC, r *request) (rbacDecision, error) {
	action := rules.GetAction().String()
	names := make([]string, 0, len(rules.GetPolicies()))
	for name := range rules.GetPolicies() {
		names = append(names, name)
	}
	sort.Strings(names)
	matched := ""
	for _, name := range names {
		ok, err := policyMatches(rules.GetPolicies()[name], r)
		if err != nil {
			return rbacDecision{}, fmt.Errorf("policy %s: %w", name, err)
		}
		if ok {
			matched = name
			break
		}
	}
	switch rules.GetAction() {
	case rbacpb.RBAC_ALLOW:
		if matched == "" {
			return rbacDecision{denied: true, policy: "no ALLOW policy matches", action: action}, nil
		}
		return rbacDecision{policy: matched, action: action}, nil
	case rbacpb.RBAC_DENY:
		return rbacDecision{denied: matched != "", policy: matched, action: action}, nil
	}
	return rbacDecision{policy: matched, action: action}, nil
}

func policyMatches(p *rbacpb.Policy, r *request) (bool, error) {
	if p.GetCondition() != nil || p.GetCheckedCondition() != nil {
		return false, fmt.Errorf("CEL conditions are not evaluated by the judge")
	}
	permitted := false
	for _, perm := range p.GetPermissions() {
		ok, err := permissionMatches(perm, r)
		if err != nil {
			return false, err
		}
		if ok {
			permitted = true
			break
		}
	}
	if !permitted {
		return false, nil
	}
	for _, id := range p.GetPrincipals() {
		ok, err := principalMatches(id, r)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func permissionMatches(p *rbacpb.Permission, r *request) (bool, error) {
	switch rule := p.GetRule().(type) {
	case *rbacpb.Permission_Any:
		return rule.Any, nil
	case *rbacpb.Permission_AndRules:
		for _, sub := range rule.AndRules.GetRules() {
			if ok, err := permissionMatches(sub, r); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case *rbacpb.Permission_OrRules:
		for _, sub := range rule.OrRules.GetRules() {
			if ok, err := permissionMatches(sub, r); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case *rbacpb.Permission_NotRule:
		ok, err := permissionMatches(rule.NotRule, r)
		return !ok, err
	case *rbacpb.Permission_Header:
		return headerMatch(rule.Header, r)
	case *rbacpb.Permission_UrlPath:
		return pathMatch(rule.UrlPath, r)
	case *rbacpb.Permission_DestinationPort:
		return rule.DestinationPort == r.destPort, nil
	case *rbacpb.Permission_DestinationPortRange:
		return r.destPort >= uint32(rule.DestinationPortRange.GetStart()) &&
			r.destPort < uint32(rule.DestinationPortRange.GetEnd()), nil
	case *rbacpb.Permission_Metadata:
		return metadataMatch(rule.Metadata, r)
	case *rbacpb.Permission_RequestedServerName:
		return stringMatch(rule.RequestedServerName, r.sni)
	}
	return false, fmt.Errorf("RBAC permission %T is not evaluated by the judge", p.GetRule())
}

func principalMatches(p *rbacpb.Principal, r *request) (bool, error) {
	switch id := p.GetIdentifier().(type) {
	case *rbacpb.Principal_Any:
		return id.Any, nil
	case *rbacpb.Principal_AndIds:
		for _, sub := range id.AndIds.GetIds() {
			if ok, err := principalMatches(sub, r); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case *rbacpb.Principal_OrIds:
		for _, sub := range id.OrIds.GetIds() {
			if ok, err := principalMatches(sub, r); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case *rbacpb.Principal_NotId:
		ok, err := principalMatches(id.NotId, r)
		return !ok, err
	case *rbacpb.Principal_Authenticated_:
		if r.principal == "" {
			return false, nil
		}
		return stringMatch(id.Authenticated.GetPrincipalName(), r.principal)
	case *rbacpb.Principal_FilterState:
		// Istio's peer identity, which its mTLS filters put in the filter state.
		if id.FilterState.GetKey() != "io.istio.peer_principal" {
			return false, fmt.Errorf("filter state %q is not known to the judge", id.FilterState.GetKey())
		}
		if r.principal == "" {
			return false, nil
		}
		return stringMatch(id.FilterState.GetStringMatch(), r.principal)
	case *rbacpb.Principal_Header:
		return headerMatch(id.Header, r)
	case *rbacpb.Principal_UrlPath:
		return pathMatch(id.UrlPath, r)
	case *rbacpb.Principal_Metadata:
		return metadataMatch(id.Metadata, r)
	}
	return false, fmt.Errorf("RBAC principal %T is not evaluated by the judge", p.GetIdentifier())
}
