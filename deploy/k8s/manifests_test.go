// Package k8s checks the Kubernetes manifests: every overlay renders with
// kustomize, every object decodes strictly into the Kubernetes API types
// (a misspelt field fails), and the worker keeps what operations rely on:
// probes, resources, a non-root read-only container, and a termination
// grace longer than the worker's own drain.
package k8s

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// objects is one rendered overlay, decoded.
type objects struct {
	deployments []appsv1.Deployment
	services    []corev1.Service
	configMaps  []corev1.ConfigMap
	hpas        []autoscalingv2.HorizontalPodAutoscaler
	pdbs        []policyv1.PodDisruptionBudget
	jobs        []batchv1.Job
	accounts    []corev1.ServiceAccount
}

// render builds the kustomization in dir and decodes every object strictly.
func render(dir string) (objects, error) {
	var objs objects
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return objs, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	var errs []error
	for _, r := range m.Resources() {
		raw, err := r.AsYAML()
		if err != nil {
			return objs, err
		}
		where := r.GetKind() + "/" + r.GetName()
		var derr error
		switch r.GetKind() {
		case "Deployment":
			derr = decodeInto(raw, &objs.deployments)
		case "Service":
			derr = decodeInto(raw, &objs.services)
		case "ConfigMap":
			derr = decodeInto(raw, &objs.configMaps)
		case "HorizontalPodAutoscaler":
			derr = decodeInto(raw, &objs.hpas)
		case "PodDisruptionBudget":
			derr = decodeInto(raw, &objs.pdbs)
		case "Job":
			derr = decodeInto(raw, &objs.jobs)
		case "ServiceAccount":
			derr = decodeInto(raw, &objs.accounts)
		case "Secret":
			derr = errors.New("secrets are referenced, never rendered: create them out of band")
		default:
			derr = fmt.Errorf("kind %s is not checked by this test: add it", r.GetKind())
		}
		if derr != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, derr))
		}
	}
	return objs, errors.Join(errs...)
}

func decodeInto[T any](raw []byte, into *[]T) error {
	var v T
	if err := yaml.UnmarshalStrict(raw, &v); err != nil {
		return err
	}
	*into = append(*into, v)
	return nil
}

// validate checks what operations rely on and returns every problem.
func validate(o objects) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	configMaps := map[string]corev1.ConfigMap{}
	for _, cm := range o.configMaps {
		configMaps[cm.Name] = cm
	}
	if len(o.deployments) != 1 {
		fail("want exactly one Deployment (the worker), got %d", len(o.deployments))
		return errors.Join(errs...)
	}
	d := o.deployments[0]
	pod := d.Spec.Template
	where := "Deployment/" + d.Name
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		fail("%s: selector: %v", where, err)
	} else if !sel.Matches(labels.Set(pod.Labels)) {
		fail("%s: selector does not match the pod labels", where)
	}
	checkPod(where, pod.Spec, configMaps, fail, true)

	// The kubelet's grace must outlast the worker's drain.
	for _, c := range pod.Spec.Containers {
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef == nil {
				continue
			}
			grace, err := time.ParseDuration(configMaps[ef.ConfigMapRef.Name].Data["OUTREACH_SHUTDOWN_GRACE"])
			if err != nil {
				fail("%s: OUTREACH_SHUTDOWN_GRACE: %v", where, err)
				continue
			}
			tgp := pod.Spec.TerminationGracePeriodSeconds
			if tgp == nil || time.Duration(*tgp)*time.Second <= grace {
				fail("%s: terminationGracePeriodSeconds must be longer than OUTREACH_SHUTDOWN_GRACE (%s)", where, grace)
			}
		}
	}

	for _, s := range o.services {
		if !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			fail("Service/%s: selector matches no worker pod", s.Name)
		}
		for _, p := range s.Spec.Ports {
			if p.TargetPort.StrVal != "" && !hasPort(pod.Spec.Containers, p.TargetPort.StrVal) {
				fail("Service/%s: targetPort %q is no container port", s.Name, p.TargetPort.StrVal)
			}
		}
	}
	if len(o.hpas) != 1 {
		fail("want one HorizontalPodAutoscaler, got %d", len(o.hpas))
	}
	for _, h := range o.hpas {
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != d.Name {
			fail("HorizontalPodAutoscaler/%s: scales %s/%s, not the worker", h.Name, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas > h.Spec.MaxReplicas {
			fail("HorizontalPodAutoscaler/%s: minReplicas must be set and at most maxReplicas", h.Name)
		}
	}
	if len(o.pdbs) != 1 {
		fail("want one PodDisruptionBudget, got %d", len(o.pdbs))
	}
	for _, p := range o.pdbs {
		s, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || !s.Matches(labels.Set(pod.Labels)) {
			fail("PodDisruptionBudget/%s: selector does not match the worker pods", p.Name)
		}
	}
	var migrates bool
	for _, j := range o.jobs {
		checkPod("Job/"+j.Name, j.Spec.Template.Spec, configMaps, fail, false)
		for _, c := range j.Spec.Template.Spec.Containers {
			if slices.Equal(c.Command, []string{"/starter", "db", "migrate"}) {
				migrates = true
			}
		}
	}
	if !migrates {
		fail("no Job runs `starter db migrate`")
	}
	return errors.Join(errs...)
}

func checkPod(where string, spec corev1.PodSpec, configMaps map[string]corev1.ConfigMap, fail func(string, ...any), probes bool) {
	podNonRoot := spec.SecurityContext != nil && spec.SecurityContext.RunAsNonRoot != nil && *spec.SecurityContext.RunAsNonRoot
	if len(spec.Containers) == 0 {
		fail("%s: no containers", where)
	}
	for _, c := range spec.Containers {
		cw := where + " container " + c.Name
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[r]; !ok {
				fail("%s: no %s request", cw, r)
			}
			if _, ok := c.Resources.Limits[r]; !ok {
				fail("%s: no %s limit", cw, r)
			}
		}
		sc := c.SecurityContext
		if !podNonRoot && (sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
			fail("%s: must run as non-root", cw)
		}
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			fail("%s: root filesystem must be read-only", cw)
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			fail("%s: allowPrivilegeEscalation must be false", cw)
		}
		if c.Image == "" || strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image, ":") {
			fail("%s: image %q must have a pinned tag", cw, c.Image)
		}
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil {
				if _, ok := configMaps[ef.ConfigMapRef.Name]; !ok {
					fail("%s: ConfigMap %q is not rendered", cw, ef.ConfigMapRef.Name)
				}
			}
		}
		for _, e := range c.Env {
			if e.Value != "" && isSecretName(e.Name) {
				fail("%s: %s must come from a Secret, not a literal", cw, e.Name)
			}
		}
		if !probes {
			continue
		}
		for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			switch {
			case p == nil || p.HTTPGet == nil:
				fail("%s: no %s probe", cw, name)
			case p.HTTPGet.Port.StrVal == "" || !hasPort([]corev1.Container{c}, p.HTTPGet.Port.StrVal):
				fail("%s: %s probe must name a port of the container", cw, name)
			}
		}
	}
}

func isSecretName(env string) bool {
	return slices.Contains([]string{"DATABASE_URL", "OUTREACH_PAYLOAD_KEYS", "OUTREACH_CODEC_AUTH_TOKEN", "TEMPORAL_API_KEY"}, env)
}

func hasPort(cs []corev1.Container, name string) bool {
	for _, c := range cs {
		for _, p := range c.Ports {
			if p.Name == name {
				return true
			}
		}
	}
	return false
}

func overlays(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("overlays", "*"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	return dirs
}

func TestOverlaysRenderValidObjects(t *testing.T) {
	for _, dir := range overlays(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			objs, err := render(dir)
			require.NoError(t, err)
			require.NoError(t, validate(objs))
			assert.Len(t, objs.jobs, 2)
			assert.Len(t, objs.services, 1)
			for _, d := range objs.deployments {
				assert.NotEmpty(t, d.Namespace, "the overlay sets the namespace")
			}
		})
	}
}

func TestProdOverlay(t *testing.T) {
	objs, err := render(filepath.Join("overlays", "prod"))
	require.NoError(t, err)
	assert.Equal(t, "outreach", objs.deployments[0].Namespace)
	assert.EqualValues(t, 3, *objs.hpas[0].Spec.MinReplicas)
	assert.Equal(t, "2", objs.pdbs[0].Spec.MinAvailable.String())
	assert.Contains(t, objs.configMaps[0].Data["TEMPORAL_ADDRESS"], "tmprl.cloud")
	env := objs.deployments[0].Spec.Template.Spec.Containers[0].Env
	require.Equal(t, "OUTREACH_PAYLOAD_KEYS", env[1].Name)
	assert.False(t, *env[1].ValueFrom.SecretKeyRef.Optional, "production refuses to start without payload keys")
}

// brokenOverlay writes an overlay of a copy of the base with one patch.
func brokenOverlay(t *testing.T, patch string) string {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(root, "base"), os.DirFS("base")))
	overlay := filepath.Join(root, "overlay")
	require.NoError(t, os.MkdirAll(overlay, 0o755))
	k := "resources:\n  - ../base\npatches:\n  - target:\n      kind: Deployment\n      name: outreach-worker\n    patch: |-\n" +
		indent(patch, "      ")
	require.NoError(t, os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(k), 0o644))
	return overlay
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestBrokenManifestsAreCaught(t *testing.T) {
	for _, tc := range []struct {
		name, patch, want string
	}{
		{"misspelt field", `
- op: add
  path: /spec/template/spec/containers/0/readinesProbe
  value: {httpGet: {path: /readyz, port: ops}}`, `unknown field "readinesProbe"`},
		{"missing readiness probe", `
- op: remove
  path: /spec/template/spec/containers/0/readinessProbe`, "no readiness probe"},
		{"missing liveness probe", `
- op: remove
  path: /spec/template/spec/containers/0/livenessProbe`, "no liveness probe"},
		{"missing resources", `
- op: remove
  path: /spec/template/spec/containers/0/resources`, "no cpu request"},
		{"writable root filesystem", `
- op: replace
  path: /spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem
  value: false`, "root filesystem must be read-only"},
		{"grace shorter than the drain", `
- op: replace
  path: /spec/template/spec/terminationGracePeriodSeconds
  value: 30`, "terminationGracePeriodSeconds must be longer than OUTREACH_SHUTDOWN_GRACE"},
		{"secret as a literal", `
- op: replace
  path: /spec/template/spec/containers/0/env/0
  value: {name: DATABASE_URL, value: "postgres://app:hunter2@db/outreach"}`, "DATABASE_URL must come from a Secret"},
		{"probe on a port the container lacks", `
- op: replace
  path: /spec/template/spec/containers/0/livenessProbe/httpGet/port
  value: metrics`, "liveness probe must name a port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := render(brokenOverlay(t, tc.patch))
			if err == nil {
				err = validate(objs)
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
