package deploy

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"sigs.k8s.io/yaml"
)

const kubeVersion = "v1.31.0"

// render installs the chart client-side (as `helm install --dry-run` does, hooks included)
// and returns every document, hooks first.
func render(t *testing.T, vals map[string]any) (string, string, error) {
	t.Helper()
	chartPath := filepath.Join(repoRoot(t), "helm", "evently")
	ch, err := loader.Load(chartPath)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun, install.ClientOnly, install.Replace = true, true, true
	install.ReleaseName, install.Namespace, install.KubeVersion = "evently", "evently", kv
	rel, err := install.Run(ch, vals)
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	for _, h := range rel.Hooks {
		b.WriteString("---\n" + h.Manifest + "\n")
	}
	b.WriteString(rel.Manifest)
	return b.String(), rel.Info.Notes, nil
}

func loadValues(t *testing.T, rel string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal(readFile(t, rel), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestChartLintStrict fails on any lint warning or error, as `helm lint --strict` does.
func TestChartLintStrict(t *testing.T) {
	chartPath := filepath.Join(repoRoot(t), "helm", "evently")
	kv, _ := chartutil.ParseKubeVersion(kubeVersion)
	for name, vals := range map[string]map[string]any{
		"default":    {},
		"production": loadValues(t, "helm/evently/ci/production-values.yaml"),
	} {
		res := lint.AllWithKubeVersion(chartPath, vals, "evently", kv)
		for _, m := range res.Messages {
			if m.Severity >= support.WarningSev { // what `helm lint --strict` fails on
				t.Errorf("%s values: lint: %s", name, m)
			}
		}
	}
}

// TestChartDefaultValues renders the defaults and checks posture, hooks and Services.
func TestChartDefaultValues(t *testing.T) {
	out, notes, err := render(t, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	m := decodeAll(t, out)
	checkPosture(t, m, components)
	checkHooks(t, m, 6)
	if len(m.secrets) != 1 || m.secrets[0].Annotations["helm.sh/resource-policy"] != "keep" ||
		!strings.Contains(m.secrets[0].Annotations["helm.sh/hook"], "pre-install") {
		t.Errorf("want one generated, kept, pre-install Secret; got %d", len(m.secrets))
	}
	// The generated signing key must be what identity reads: PKCS#8 PEM, Ed25519.
	if len(m.secrets) == 1 {
		block, _ := pem.Decode(m.secrets[0].Data["jwt-signing-key"])
		if block == nil {
			t.Fatal("generated jwt-signing-key is not PEM")
		}
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if _, ok := key.(ed25519.PrivateKey); err != nil || !ok {
			t.Errorf("generated jwt-signing-key: %T, %v; want a PKCS#8 Ed25519 key", key, err)
		}
		if len(m.secrets[0].Data["assertion-secret"]) < 32 || len(m.secrets[0].Data["admin-password"]) < 16 {
			t.Error("generated secrets too short")
		}
	}
	if len(m.pdbs) != len(components) || len(m.hpas) != 0 || len(m.ingresses) != 0 || len(m.monitors) != 0 {
		t.Errorf("defaults: %d PDBs, %d HPAs, %d Ingresses, %d ServiceMonitors", len(m.pdbs), len(m.hpas), len(m.ingresses), len(m.monitors))
	}
	for _, cm := range m.configMaps {
		if strings.HasPrefix(cm.Name, "evently-") && cm.Data["HTTP_ADDR"] != "" && cm.Data["MIGRATE_ON_START"] != "false" {
			t.Errorf("ConfigMap %s: services must not migrate on start when hook Jobs do", cm.Name)
		}
	}
	if !strings.Contains(notes, "port-forward") {
		t.Errorf("NOTES.txt without access instructions:\n%s", notes)
	}
}

// TestChartProductionValues renders a production-like file: existing Secrets, Ingress
// with TLS, HPAs, the Prometheus Operator objects.
func TestChartProductionValues(t *testing.T) {
	vals := loadValues(t, "helm/evently/ci/production-values.yaml")
	out, _, err := render(t, vals)
	if err != nil {
		t.Fatal(err)
	}
	m := decodeAll(t, out)
	checkPosture(t, m, components)
	checkHooks(t, m, 6)
	if len(m.secrets) != 0 {
		t.Errorf("existing Secrets named, yet the chart generated %d", len(m.secrets))
	}
	if len(m.ingresses) != 1 || len(m.ingresses[0].Spec.TLS) != 1 {
		t.Error("want one Ingress with TLS")
	}
	if len(m.hpas) != len(components) {
		t.Errorf("%d HPAs, want %d", len(m.hpas), len(components))
	}
	for _, d := range m.deployments {
		if d.Spec.Replicas != nil {
			t.Errorf("Deployment %s sets replicas while its HPA scales it", d.Name)
		}
	}
	if len(m.monitors) != len(components) {
		t.Errorf("%d ServiceMonitors, want %d", len(m.monitors), len(components))
	}
	for _, sm := range m.monitors {
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "admin" {
			t.Errorf("ServiceMonitor %s must scrape the admin port only", sm.Name)
		}
	}
	if len(m.rules) != 1 {
		t.Fatalf("%d PrometheusRules, want 1", len(m.rules))
	}
	alerts := map[string]bool{}
	for _, g := range m.rules[0].Spec.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = r.Expr.String() != ""
		}
	}
	for _, a := range []string{"EventlyOutboxLag", "EventlyConsumerLag", "EventlyDLQGrowth"} {
		if !alerts[a] {
			t.Errorf("alert %s missing", a)
		}
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title string `json:"title"`
		} `json:"panels"`
	}
	found := false
	for _, cm := range m.configMaps {
		for k, v := range cm.Data {
			if strings.HasSuffix(k, ".json") {
				found = true
				if err := json.Unmarshal([]byte(v), &dash); err != nil || len(dash.Panels) < 5 {
					t.Errorf("dashboard %s: %v (%d panels)", k, err, len(dash.Panels))
				}
			}
		}
	}
	if !found {
		t.Error("no Grafana dashboard ConfigMap")
	}
}

// checkHooks wants one migration Job per schema-owning service and the topic Job, all
// pre-install/pre-upgrade hooks, migrations using the binaries' migrate subcommand.
func checkHooks(t *testing.T, m *manifests, migrating int) {
	t.Helper()
	migrations, topics := 0, 0
	for _, j := range m.jobs {
		if j.Annotations["helm.sh/hook"] != "pre-install,pre-upgrade" {
			t.Errorf("Job %s is not a pre-install,pre-upgrade hook", j.Name)
		}
		switch j.Labels["app.kubernetes.io/component"] {
		case "migration":
			migrations++
			if args := j.Spec.Template.Spec.Containers[0].Args; len(args) == 0 || args[0] != "migrate" {
				t.Errorf("Job %s runs %v, want migrate", j.Name, args)
			}
		case "topics":
			topics++
			for _, c := range j.Spec.Template.Spec.Containers {
				if len(c.Args) != 1 || c.Args[0] != "topics" {
					t.Errorf("topic Job container %s runs %v", c.Name, c.Args)
				}
			}
		}
	}
	if migrations != migrating || topics != 1 {
		t.Errorf("%d migration Jobs (want %d), %d topic Jobs (want 1)", migrations, migrating, topics)
	}
}

// TestChartRejectsBadValues: values.schema.json must stop a wrong install.
func TestChartRejectsBadValues(t *testing.T) {
	for name, vals := range map[string]map[string]any{
		"unknown key":          {"components": map[string]any{"booking": map[string]any{"replica": 3}}},
		"no database secret":   {"global": map[string]any{"postgres": map[string]any{"existingSecret": ""}}},
		"bad log level":        {"global": map[string]any{"logLevel": "loud"}},
		"port out of range":    {"components": map[string]any{"gateway": map[string]any{"port": 70000}}},
		"replicas as a string": {"components": map[string]any{"catalog": map[string]any{"replicas": "two"}}},
	} {
		if _, _, err := render(t, vals); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestChartDisabledComponent: a disabled component leaves no trace and no hook.
func TestChartDisabledComponent(t *testing.T) {
	out, _, err := render(t, map[string]any{"components": map[string]any{"analytics": map[string]any{"enabled": false}}})
	if err != nil {
		t.Fatal(err)
	}
	m := decodeAll(t, out)
	checkPosture(t, m, []string{"gateway", "identity", "catalog", "inventory", "booking", "waitlist"})
	checkHooks(t, m, 5)
	if strings.Contains(out, "ANALYTICS_URL") {
		t.Error("ANALYTICS_URL still configured for a disabled analytics")
	}
}
