package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// components are the seven deployables; every one but the gateway owns a schema.
var components = []string{"gateway", "identity", "catalog", "inventory", "booking", "waitlist", "analytics"}

// repoRoot is the repository root, found from this file so `go test` works from anywhere.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// manifests is a rendered set of documents decoded into their API types.
type manifests struct {
	deployments  []appsv1.Deployment
	services     []corev1.Service
	configMaps   []corev1.ConfigMap
	accounts     []corev1.ServiceAccount
	secrets      []corev1.Secret
	jobs         []batchv1.Job
	policies     []networkingv1.NetworkPolicy
	ingresses    []networkingv1.Ingress
	hpas         []autoscalingv2.HorizontalPodAutoscaler
	pdbs         []policyv1.PodDisruptionBudget
	monitors     []monitoringv1.ServiceMonitor
	rules        []monitoringv1.PrometheusRule
	kinds        map[string]int
	documentsLen int
}

// decodeAll splits a multi-document YAML stream and decodes each document strictly into
// the Go type of its kind: a field the API does not have fails, as would a kind the
// checks do not know.
func decodeAll(t *testing.T, stream string) *manifests {
	t.Helper()
	m := &manifests{kinds: map[string]int{}}
	for i, doc := range splitYAML(stream) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, doc)
		}
		key := head.APIVersion + "/" + head.Kind
		m.kinds[head.Kind]++
		m.documentsLen++
		var err error
		switch key {
		case "apps/v1/Deployment":
			err = strictAppend(doc, &m.deployments)
		case "v1/Service":
			err = strictAppend(doc, &m.services)
		case "v1/ConfigMap":
			err = strictAppend(doc, &m.configMaps)
		case "v1/ServiceAccount":
			err = strictAppend(doc, &m.accounts)
		case "v1/Secret":
			err = strictAppend(doc, &m.secrets)
		case "batch/v1/Job":
			err = strictAppend(doc, &m.jobs)
		case "networking.k8s.io/v1/NetworkPolicy":
			err = strictAppend(doc, &m.policies)
		case "networking.k8s.io/v1/Ingress":
			err = strictAppend(doc, &m.ingresses)
		case "autoscaling/v2/HorizontalPodAutoscaler":
			err = strictAppend(doc, &m.hpas)
		case "policy/v1/PodDisruptionBudget":
			err = strictAppend(doc, &m.pdbs)
		case "monitoring.coreos.com/v1/ServiceMonitor":
			err = strictAppend(doc, &m.monitors)
		case "monitoring.coreos.com/v1/PrometheusRule":
			err = strictAppend(doc, &m.rules)
		default:
			err = fmt.Errorf("kind %s is not checked by this test; add it", key)
		}
		if err != nil {
			t.Fatalf("document %d (%s): %v\n%s", i, key, err, doc)
		}
	}
	return m
}

func strictAppend[T any](doc string, list *[]T) error {
	var v T
	if err := yaml.UnmarshalStrict([]byte(doc), &v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}

func splitYAML(stream string) []string {
	var docs []string
	for _, part := range strings.Split("\n"+stream, "\n---") {
		body := strings.TrimSpace(stripComments(part))
		if body != "" {
			docs = append(docs, part)
		}
	}
	return docs
}

func stripComments(s string) string {
	var b bytes.Buffer
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// checkPodPosture asserts the production posture of one pod template.
func checkPodPosture(t *testing.T, what string, spec corev1.PodSpec, wantProbes bool) {
	t.Helper()
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken must be false", what)
	}
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("%s: pod securityContext.runAsNonRoot must be true", what)
	}
	if len(spec.Containers) == 0 {
		t.Errorf("%s: no containers", what)
	}
	all := append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...)
	for i, c := range all {
		where := what + "/" + c.Name
		isInit := i < len(spec.InitContainers)
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("%s: no securityContext", where)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("%s: allowPrivilegeEscalation must be false", where)
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Errorf("%s: readOnlyRootFilesystem must be true", where)
		case sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL":
			t.Errorf("%s: capabilities must drop ALL", where)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
			t.Errorf("%s: CPU and memory requests required", where)
		}
		if c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: memory limit required", where)
		}
		if c.Image == "" || strings.HasSuffix(c.Image, ":") {
			t.Errorf("%s: image %q", where, c.Image)
		}
		if wantProbes && !isInit {
			if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
				t.Errorf("%s: readiness probe must GET /readyz", where)
			}
			if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
				t.Errorf("%s: liveness probe must GET /healthz", where)
			}
			ports := map[string]int32{}
			for _, p := range c.Ports {
				ports[p.Name] = p.ContainerPort
			}
			if ports["http"] == 0 || ports["admin"] == 0 || ports["http"] == ports["admin"] {
				t.Errorf("%s: needs distinct http and admin ports, got %v", where, ports)
			}
		}
	}
}

// checkPosture runs the checks every rendering (chart or overlay) must pass.
func checkPosture(t *testing.T, m *manifests, want []string) {
	t.Helper()
	names := map[string]bool{}
	for _, d := range m.deployments {
		names[d.Spec.Template.Labels["app.kubernetes.io/name"]] = true
		checkPodPosture(t, "Deployment "+d.Name, d.Spec.Template.Spec, true)
		sel, err := metaSelector(d.Spec.Selector.MatchLabels)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Deployment %s: selector does not match its pod template", d.Name)
		}
	}
	if len(m.deployments) != len(want) {
		t.Errorf("%d Deployments, want one per component (%d)", len(m.deployments), len(want))
	}
	for _, c := range want {
		if !names[c] {
			t.Errorf("no Deployment for %s", c)
		}
	}
	for _, j := range m.jobs {
		checkPodPosture(t, "Job "+j.Name, j.Spec.Template.Spec, false)
		for _, p := range m.pdbs {
			if sel, err := metaSelector(p.Spec.Selector.MatchLabels); err == nil && sel.Matches(labels.Set(j.Spec.Template.Labels)) {
				t.Errorf("PodDisruptionBudget %s counts the pods of Job %s", p.Name, j.Name)
			}
		}
	}
	for _, sa := range m.accounts {
		if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
			t.Errorf("ServiceAccount %s: automountServiceAccountToken must be false", sa.Name)
		}
	}
	// Every Service selects the pods of exactly one Deployment, on ports the pods have.
	for _, s := range m.services {
		matched := 0
		for _, d := range m.deployments {
			if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				matched++
				for _, p := range s.Spec.Ports {
					if !hasPort(d.Spec.Template.Spec.Containers, p.TargetPort.String()) {
						t.Errorf("Service %s: target port %s not on Deployment %s", s.Name, p.TargetPort.String(), d.Name)
					}
				}
			}
		}
		if matched != 1 {
			t.Errorf("Service %s selects %d pod templates, want 1", s.Name, matched)
		}
		for _, j := range m.jobs {
			if labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(j.Spec.Template.Labels)) {
				t.Errorf("Service %s selects the pods of Job %s", s.Name, j.Name)
			}
		}
	}
	if len(m.services) != len(want) {
		t.Errorf("%d Services, want %d", len(m.services), len(want))
	}
	if len(m.policies) == 0 {
		t.Error("no NetworkPolicy")
	}
	// Only the gateway (and, for inventory, booking and the waitlist) reach a service's API.
	for _, np := range m.policies {
		comp := np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"]
		if comp == "gateway" || comp == "" {
			continue
		}
		for _, rule := range np.Spec.Ingress {
			if len(rule.Ports) == 0 || rule.Ports[0].Port == nil || rule.Ports[0].Port.String() != "http" {
				continue
			}
			if len(rule.From) == 0 {
				t.Errorf("NetworkPolicy %s: API port open to everyone", np.Name)
			}
			for _, peer := range rule.From {
				from := ""
				if peer.PodSelector != nil {
					from = peer.PodSelector.MatchLabels["app.kubernetes.io/name"]
				}
				okFrom := from == "gateway" || (comp == "inventory" && (from == "booking" || from == "waitlist"))
				if !okFrom {
					t.Errorf("NetworkPolicy %s: API port reachable from %q", np.Name, from)
				}
			}
		}
	}
}

func hasPort(cs []corev1.Container, name string) bool {
	for _, c := range cs {
		for _, p := range c.Ports {
			if p.Name == name || fmt.Sprint(p.ContainerPort) == name {
				return true
			}
		}
	}
	return false
}

func metaSelector(m map[string]string) (labels.Selector, error) {
	if len(m) == 0 {
		return nil, fmt.Errorf("empty selector")
	}
	return labels.SelectorFromSet(m), nil
}

// readFile reads a repository file or fails the test.
func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
