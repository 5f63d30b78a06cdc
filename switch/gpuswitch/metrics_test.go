package gpuswitch

// The exposition, read back with Prometheus's own parser, against the requests a test sent through the hold.

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/zap"
)

// scrape parses GET /gpu-switch/metrics with Prometheus's text parser.
func scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	w := call(t, Admin{}.handleMetrics, http.MethodGet, MetricsPath, "")
	if w.Code != 200 {
		t.Fatalf("GET %s: %d %s", MetricsPath, w.Code, w.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, w.Body)
	}
	return families
}

// metric finds the series of a family whose labels include all of `labels`.
func metric(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	family, ok := families[name]
	if !ok {
		t.Fatalf("no family %s", name)
	}
	var found *dto.Metric
	for _, m := range family.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range labels {
			match = match && have[k] == v
		}
		if match {
			if found != nil {
				t.Fatalf("%s%v matches more than one series", name, labels)
			}
			found = m
		}
	}
	if found == nil {
		t.Fatalf("%s%v: no such series", name, labels)
	}
	return found
}

func value(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	m := metric(t, families, name, labels)
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Fatalf("%s is neither a counter nor a gauge", name)
	return 0
}

// answering is the handler behind the hold: a copy that answers with status.
func answering(status int) caddyhttp.Handler {
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(status)
		return nil
	})
}

func TestTheExpositionCountsTheRequestsSentThroughTheHold(t *testing.T) {
	fresh(t)
	ensureLoaded(zap.NewNop())
	post(t, `{"routes":{"stt-8060":`+tcpEntry(listen(t))+`}}`)
	waitState(t, "stt-8060", Ready)
	stt := &HoldHandler{Route: "stt-8060", logger: zap.NewNop()}
	sent := map[int]int{200: 4, 201: 1, 302: 1, 404: 2, 500: 1}
	for status, n := range sent {
		for range n {
			stt.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/v1/audio", nil), answering(status))
		}
	}
	// A route whose copy never answers: its request is held for the whole budget (1 s), then shed.
	post(t, `{"routes":{"my-tts-8055":{"dial":"127.0.0.1:1","release":"r7","readiness":{"kind":"tcp","timeoutMs":100,"intervalMs":50,"passes":1},`+
		`"hold":{"seconds":1,"queue":8,"replay":true,"expectedSeconds":30}}}}`)
	tts := &HoldHandler{Route: "my-tts-8055", logger: zap.NewNop()}
	rec := httptest.NewRecorder()
	tts.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil), answering(200))
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("the held request: %d %v", rec.Code, rec.Header())
	}

	f := scrape(t)
	sttLabels := func(extra ...string) map[string]string {
		l := map[string]string{"service": "stt", "route": "stt-8060"}
		for i := 0; i < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	for class, want := range map[string]float64{"1xx": 0, "2xx": 5, "3xx": 1, "4xx": 2, "5xx": 1} {
		equal(t, "stt "+class, value(t, f, "gpu_switch_requests_total", sttLabels("class", class)), want)
	}
	h := metric(t, f, "gpu_switch_request_duration_seconds", sttLabels()).Histogram
	if h.GetSampleCount() != 9 || h.GetSampleSum() <= 0 || h.GetSampleSum() > 5 {
		t.Fatalf("stt's histogram: %d requests in %f s, want 9", h.GetSampleCount(), h.GetSampleSum())
	}
	ttsLabels := map[string]string{"service": "my-tts", "route": "my-tts-8055"}
	equal(t, "tts 5xx", value(t, f, "gpu_switch_requests_total", map[string]string{"route": "my-tts-8055", "class": "5xx"}), 1.0)
	equal(t, "tts held", value(t, f, "gpu_switch_requests_held_total", ttsLabels), 1.0)
	equal(t, "tts shed", value(t, f, "gpu_switch_requests_shed_total", ttsLabels), 1.0)
	equal(t, "stt held", value(t, f, "gpu_switch_requests_held_total", sttLabels()), 0.0)
	// The shed request took its whole budget: over 1 s, under 2.5 s.
	buckets := map[float64]uint64{}
	th := metric(t, f, "gpu_switch_request_duration_seconds", ttsLabels).Histogram
	for _, b := range th.Bucket {
		buckets[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	equal(t, "tts buckets", []uint64{buckets[0.5], buckets[1], buckets[2.5], th.GetSampleCount()}, []uint64{0, 0, 1, 1})

	equal(t, "stt ready", value(t, f, "gpu_switch_route_state", sttLabels("state", "ready")), 1.0)
	equal(t, "tts loading", value(t, f, "gpu_switch_route_state", map[string]string{"route": "my-tts-8055", "state": "loading"}), 1.0)
	equal(t, "stt dial ready", value(t, f, "gpu_switch_upstream_ready", sttLabels("role", "dial")), 1.0)
	equal(t, "tts dial ready", value(t, f, "gpu_switch_upstream_ready", map[string]string{"upstream": "127.0.0.1:1", "role": "dial"}), 0.0)
	equal(t, "tts release", value(t, f, "gpu_switch_release_info", map[string]string{"route": "my-tts-8055", "release": "r7", "role": "serving"}), 1.0)
	equal(t, "in flight", value(t, f, "gpu_switch_requests_in_flight", sttLabels()), 0.0)
	if w := call(t, Admin{}.handleMetrics, http.MethodPost, MetricsPath, ""); w.Code != 405 {
		t.Fatalf("POST %s: %d", MetricsPath, w.Code)
	}
}

func TestTheServiceOfARouteIsItsIdWithoutThePort(t *testing.T) {
	for id, want := range map[string]string{"stt-8060": "stt", "my-tts-8055": "my-tts", "web": "web", "a-b": "a-b", "-1": "-1"} {
		equal(t, id, ServiceOf(id), want)
	}
}

// sampleFile is the exposition of a fixed table, kept in step with the code: the Grafana dashboard's test
// (test/grafanaDashboard.test.ts) checks the metric names it uses against it. GPU_SWITCH_UPDATE_SAMPLE=1 writes it.
var sampleFile = filepath.Join("testdata", "metrics.prom")

func TestTheCheckedInExpositionSampleIsWhatTheSwitchExports(t *testing.T) {
	fresh(t)
	ensureLoaded(zap.NewNop())
	since := time.Date(2026, 7, 1, 9, 5, 0, 0, time.UTC)
	table.mu.Lock()
	for id, e := range map[string]Entry{
		"stt-8060": {Dial: "stt-blue:8000", Next: "stt-green:8000", Release: "stt@sha256:bbbb", Readiness: Readiness{Passes: 2}},
		"tts-8055": {Dial: "tts:8055", Release: "tts@sha256:aaaa", Readiness: Readiness{Passes: 1}},
	} {
		rt := newRoute(id, e) // no prober: the state stays as set here
		rt.since = since
		table.routes[id] = rt
	}
	stt, tts := table.routes["stt-8060"], table.routes["tts-8055"]
	stt.state, stt.serving, stt.nextPasses = Ready, "stt@sha256:aaaa", 1
	stt.counters = Counters{Requests: StatusClasses{C2xx: 120, C4xx: 3, C5xx: 2}, Held: 4, Shed: 1, Replayed: 1, InFlight: 2}
	for _, s := range []float64{0.004, 0.2, 0.2, 1.5, 45, 200} {
		stt.latency.observe(s)
	}
	tts.state, tts.counters = Loading, Counters{Requests: StatusClasses{C2xx: 7}, Holding: 1, Held: 1}
	table.mu.Unlock()

	w := call(t, Admin{}.handleMetrics, http.MethodGet, MetricsPath, "")
	if os.Getenv("GPU_SWITCH_UPDATE_SAMPLE") == "1" {
		if err := os.WriteFile(sampleFile, w.Body.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kept, err := os.ReadFile(sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(kept, w.Body.Bytes()) {
		t.Fatalf("%s is not what the switch exports now (GPU_SWITCH_UPDATE_SAMPLE=1 go test ./gpuswitch writes it):\n%s", sampleFile, w.Body)
	}
}
