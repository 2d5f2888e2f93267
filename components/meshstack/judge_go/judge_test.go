package judge

import (
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var (
	inputPath  = flag.String("input", "", "the question file (JSON): objects, mesh config, queries")
	outputPath = flag.String("output", "", "where the answers go (JSON)")
)

// TestJudge is the judge's entry point: one question file in, one answer file out.
func TestJudge(t *testing.T) {
	if *inputPath == "" || *outputPath == "" {
		t.Skip("run as: meshstack-judge -test.run '^TestJudge$' -input Q.json -output A.json")
	}
	raw, err := os.ReadFile(*inputPath)
	if err != nil {
		t.Fatalf("reading the question file: %v", err)
	}
	var input Input
	if err := json.Unmarshal(raw, &input); err != nil {
		t.Fatalf("the question file is not valid: %v", err)
	}
	answers, err := Judge(t, input)
	if err != nil {
		t.Fatalf("%v", err)
	}
	out, err := json.MarshalIndent(answers, "", " ")
	if err != nil {
		t.Fatalf("encoding the answers: %v", err)
	}
	if err := os.WriteFile(*outputPath, out, 0o644); err != nil {
		t.Fatalf("writing the answers: %v", err)
	}
}
