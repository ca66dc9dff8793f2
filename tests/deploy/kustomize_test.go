package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// kustomize builds an overlay with kubectl's built-in kustomize.
func kustomize(t *testing.T, dir string) string {
	t.Helper()
	if _, err := exec.LookPath("kubectl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kubectl is required in CI to build the kustomize overlays")
		}
		t.Skip("kubectl not installed: cannot build the kustomize overlays")
	}
	out, err := exec.Command("kubectl", "kustomize", filepath.Join(repoRoot(t), dir)).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, out)
	}
	return string(out)
}

// TestKustomizeOverlays builds base, dev and prod and checks each like the chart.
func TestKustomizeOverlays(t *testing.T) {
	for _, dir := range []string{"k8s/base", "k8s/overlays/dev", "k8s/overlays/prod"} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			m := decodeAll(t, kustomize(t, dir))
			checkPosture(t, m, components)
			// Six services own a schema; each migrates in an init container before serving.
			migrating := 0
			for _, d := range m.deployments {
				for _, ic := range d.Spec.Template.Spec.InitContainers {
					if len(ic.Args) > 0 && ic.Args[0] == "migrate" {
						migrating++
					}
				}
			}
			if migrating != 6 {
				t.Errorf("%d Deployments migrate in an init container, want 6", migrating)
			}
			if len(m.accounts) != len(components) || len(m.configMaps) != len(components) || len(m.policies) != len(components) {
				t.Errorf("%d ServiceAccounts, %d ConfigMaps, %d NetworkPolicies; want one per component",
					len(m.accounts), len(m.configMaps), len(m.policies))
			}
			switch filepath.Base(dir) {
			case "dev":
				if len(m.secrets) != 1 || !strings.HasPrefix(m.secrets[0].Name, "evently-secrets") {
					t.Error("dev overlay should generate evently-secrets")
				}
				checkNamespace(t, m, "evently-dev")
			case "prod":
				if len(m.secrets) != 0 {
					t.Error("prod overlay must not carry secrets")
				}
				if len(m.hpas) != len(components) || len(m.pdbs) != len(components) {
					t.Errorf("prod: %d HPAs, %d PDBs", len(m.hpas), len(m.pdbs))
				}
				for _, d := range m.deployments {
					img := d.Spec.Template.Spec.Containers[0].Image
					if !strings.HasSuffix(img, ":0.1.0") {
						t.Errorf("prod Deployment %s: image %s not pinned", d.Name, img)
					}
				}
				for _, cm := range m.configMaps {
					if v, ok := cm.Data["KAFKA_REPLICATION_FACTOR"]; ok && v != "3" {
						t.Errorf("prod ConfigMap %s: replication factor %s", cm.Name, v)
					}
				}
				checkNamespace(t, m, "evently")
			}
		})
	}
}

func checkNamespace(t *testing.T, m *manifests, ns string) {
	t.Helper()
	for _, d := range m.deployments {
		if d.Namespace != ns {
			t.Errorf("Deployment %s in namespace %q, want %q", d.Name, d.Namespace, ns)
		}
	}
}
