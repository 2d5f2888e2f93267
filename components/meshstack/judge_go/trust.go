package judge

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"istio.io/istio/security/pkg/pki/ca"
	"istio.io/istio/security/pkg/pki/util"
)

// CAInput is one istiod's plug-in CA: the files of its cluster's cacerts Secret (by key:
// ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem) and the trust domain its
// workload identities are minted in.
type CAInput struct {
	Cluster     string            `json:"cluster"`
	Files       map[string]string `json:"files"`
	TrustDomain string            `json:"trustDomain"`
}

// CAAnswer is what Istio's CA made of one cluster's cacerts: Error when istiod would
// refuse to start its CA with them (the reason Istio's own code gives).
type CAAnswer struct {
	Cluster string `json:"cluster"`
	Error   string `json:"error,omitempty"`
}

// TrustAnswer is one pair of clusters: a workload certificate Signer's istiod issues
// (for Identity, with the chain istiod sends beside it) checked against the root
// Verifier's istiod publishes to its proxies (istio-ca-root-cert). Trusted: an mTLS peer
// from Signer is accepted by Verifier's sidecars; Reason says why not.
type TrustAnswer struct {
	Signer   string `json:"signer"`
	Verifier string `json:"verifier"`
	Identity string `json:"identity"`
	Trusted  bool   `json:"trusted"`
	Reason   string `json:"reason,omitempty"`
}

// Values istiod runs its CA with unless told otherwise (its flags' defaults).
const (
	workloadCertTTL    = 24 * time.Hour
	maxWorkloadCertTTL = 90 * 24 * time.Hour
	caRSAKeySize       = 2048
)

// judgeTrust answers whether the clusters share a root of trust, with Istio's own CA: each
// cluster's cacerts become the plug-in CA istiod builds from them (the same file layout
// and checks: the chain must lead from the signing certificate to the root, the signing
// certificate must be a CA); each CA signs a workload CSR as istiod's CA server does
// (the leaf followed by the CA's chain); every other cluster's root then verifies it.
func judgeTrust(input Input) (*Output, error) {
	out := &Output{SkippedKinds: map[string]int{}}
	cas := map[string]*ca.IstioCA{}
	for _, in := range input.CertificateAuthorities {
		authority, err := pluggedCA(in)
		answer := CAAnswer{Cluster: in.Cluster}
		if err != nil {
			answer.Error = err.Error()
		} else {
			cas[in.Cluster] = authority
		}
		out.CAs = append(out.CAs, answer)
	}
	for _, signer := range input.CertificateAuthorities {
		authority, ok := cas[signer.Cluster]
		if !ok {
			continue
		}
		identity := fmt.Sprintf("spiffe://%s/ns/judge/sa/%s", signer.TrustDomain, signer.Cluster)
		chain, key, err := issue(authority, identity)
		for _, verifier := range input.CertificateAuthorities {
			other, ok := cas[verifier.Cluster]
			if !ok {
				continue
			}
			answer := TrustAnswer{Signer: signer.Cluster, Verifier: verifier.Cluster, Identity: identity}
			if err != nil {
				answer.Reason = err.Error()
			} else if err := util.VerifyCertificate(key, chain, other.GetCAKeyCertBundle().GetRootCertPem(), nil); err != nil {
				answer.Reason = err.Error()
			} else {
				answer.Trusted = true
			}
			out.Trust = append(out.Trust, answer)
		}
	}
	sort.SliceStable(out.Trust, func(i, j int) bool {
		a, b := out.Trust[i], out.Trust[j]
		return a.Signer < b.Signer || (a.Signer == b.Signer && a.Verifier < b.Verifier)
	})
	return out, nil
}

// pluggedCA builds the CA istiod starts from a mounted cacerts Secret (the file names
// and the bundle its bootstrap reads from ./etc/cacerts).
func pluggedCA(in CAInput) (*ca.IstioCA, error) {
	dir, err := os.MkdirTemp("", "meshstack-cacerts-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for name, text := range in.Files {
		if filepath.Base(name) != name {
			return nil, fmt.Errorf("cacerts key %q is not a file name", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			return nil, err
		}
	}
	bundle := ca.SigningCAFileBundle{
		RootCertFile:    filepath.Join(dir, ca.RootCertFile),
		CertChainFiles:  []string{filepath.Join(dir, ca.CertChainFile)},
		SigningCertFile: filepath.Join(dir, ca.CACertFile),
		SigningKeyFile:  filepath.Join(dir, ca.CAPrivateKeyFile),
	}
	opts, err := ca.NewPluggedCertIstioCAOptions(bundle, workloadCertTTL, maxWorkloadCertTTL, caRSAKeySize)
	if err != nil {
		return nil, err
	}
	return ca.NewIstioCA(opts)
}

// issue is one workload's certificate as a sidecar obtains it: a CSR for its SPIFFE
// identity (as the agent makes it), signed by the CA with its chain appended.
func issue(authority *ca.IstioCA, identity string) (chain []byte, key []byte, err error) {
	csr, key, err := util.GenCSR(util.CertOptions{Host: identity, RSAKeySize: caRSAKeySize})
	if err != nil {
		return nil, nil, err
	}
	signed, err := authority.SignWithCertChain(csr, ca.CertOpts{SubjectIDs: []string{identity}, TTL: time.Hour})
	if err != nil {
		return nil, nil, fmt.Errorf("the CA refused to sign %s: %w", identity, err)
	}
	for _, pem := range signed {
		chain = append(chain, pem...)
	}
	return chain, key, nil
}
