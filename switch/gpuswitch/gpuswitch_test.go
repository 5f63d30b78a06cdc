package gpuswitch

// The route table and its admin handler in process (the agent's tests drive them in a real Caddy).

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// fresh points Caddy's config folder at a new temporary folder and forgets the table, as a new process would.
func fresh(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	table.mu.Lock()
	table.loaded, table.routes, table.path = false, nil, ""
	table.mu.Unlock()
	return filepath.Join(dir, "caddy", TableFile)
}

func post(t *testing.T, body string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	err := Admin{}.handle(w, httptest.NewRequest(http.MethodPost, AdminPath, strings.NewReader(body)))
	if err != nil {
		apiErr := err.(caddy.APIError)
		w.Code = apiErr.HTTPStatus
		w.Body.WriteString(apiErr.Err.Error())
	}
	return w
}

func upstreamOf(t *testing.T, route string) string {
	t.Helper()
	ups, err := Upstreams{Route: route}.GetUpstreams(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) == 0 {
		return ""
	}
	return ups[0].Dial
}

func TestSeveralRoutesAreSetAtOnceAndPersistedThenReadBack(t *testing.T) {
	file := fresh(t)
	ensureLoaded(zap.NewNop())
	if w := post(t, `{"routes":{"web-8000":"web-1a2b3c:8000","tts-8055":"tts-4d5e6f:8000"}}`); w.Code != 200 {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	if got := upstreamOf(t, "web-8000"); got != "web-1a2b3c:8000" {
		t.Fatalf("web-8000 dials %q", got)
	}
	// A release of web and a removal of tts, in one request.
	w := post(t, `{"routes":{"web-8000":"web-999999:8000","tts-8055":null}}`)
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"routes":{"web-8000":"web-999999:8000"}}` {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	if upstreamOf(t, "tts-8055") != "" || upstreamOf(t, "web-8000") != "web-999999:8000" {
		t.Fatalf("after the update: %v", snapshot())
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc document
	if err := json.Unmarshal(data, &doc); err != nil || len(doc.Routes) != 1 || doc.Routes["web-8000"] != "web-999999:8000" {
		t.Fatalf("the file holds %s (%v)", data, err)
	}
	if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "*.tmp")); len(tmps) != 0 {
		t.Fatalf("temporary files left: %v", tmps)
	}
	// A new process reads it back.
	table.mu.Lock()
	table.loaded, table.routes = false, nil
	table.mu.Unlock()
	ensureLoaded(zap.NewNop())
	if got := upstreamOf(t, "web-8000"); got != "web-999999:8000" {
		t.Fatalf("after a restart web-8000 dials %q", got)
	}
}

func TestABadEntryChangesNothing(t *testing.T) {
	file := fresh(t)
	ensureLoaded(zap.NewNop())
	post(t, `{"routes":{"web-8000":"web-1:8000"}}`)
	before, _ := os.ReadFile(file)
	for body, want := range map[string]string{
		`{"routes":{"web-8000":"web-2:8000","api-9000":"no-port"}}`: `route "api-9000": dial "no-port" is not host:port`,
		`{"routes":{"web-8000":"web-2:8000","api-9000":"api:0"}}`:   `dial "api:0" needs a host and a port 1..65535`,
		`{"routes":{"../x":"a:1"}}`:                                 `route "../x": not a route id`,
		`{"routes":{"../x":null}}`:                                  `route "../x": not a route id`,
		`{"web-8000":"web-2:8000"}`:                                 `unknown field "web-8000"`,
		`{}`:                                                        `want {"routes"`,
		`not json`:                                                  `invalid character`,
	} {
		w := post(t, body)
		if w.Code != 400 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("%s: %d %s, want 400 with %q", body, w.Code, w.Body, want)
		}
	}
	after, _ := os.ReadFile(file)
	if upstreamOf(t, "web-8000") != "web-1:8000" || string(before) != string(after) {
		t.Fatalf("a refused update changed the table: %v, %s", snapshot(), after)
	}
}

func TestAFileThatCannotBeWrittenChangesNothing(t *testing.T) {
	file := fresh(t)
	ensureLoaded(zap.NewNop())
	post(t, `{"routes":{"web-8000":"web-1:8000"}}`)
	// The table's folder becomes a file: nothing can be written there, not even by root.
	blocker := filepath.Join(filepath.Dir(file), "blocker")
	os.WriteFile(blocker, nil, 0o600)
	table.mu.Lock()
	table.path = filepath.Join(blocker, TableFile)
	table.mu.Unlock()
	if w := post(t, `{"routes":{"web-8000":"web-2:8000"}}`); w.Code != 500 || !strings.Contains(w.Body.String(), "not changed") {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	if upstreamOf(t, "web-8000") != "web-1:8000" {
		t.Fatalf("the table changed: %v", snapshot())
	}
}

func TestAnUnreadableFileIsSetAsideAndTheTableStartsEmpty(t *testing.T) {
	file := fresh(t)
	os.MkdirAll(filepath.Dir(file), 0o700)
	os.WriteFile(file, []byte(`{"routes":{"web-8000":`), 0o600)
	ensureLoaded(zap.NewNop())
	if len(snapshot()) != 0 {
		t.Fatalf("table %v", snapshot())
	}
	if _, err := os.Stat(file + ".bad"); err != nil {
		t.Fatalf("not set aside: %v", err)
	}
	if w := post(t, `{"routes":{"web-8000":"web-1:8000"}}`); w.Code != 200 {
		t.Fatalf("POST after a bad file: %d %s", w.Code, w.Body)
	}
}

func TestGetAndMethods(t *testing.T) {
	fresh(t)
	ensureLoaded(zap.NewNop())
	post(t, `{"routes":{"web-8000":"10.0.0.2:8000"}}`)
	w := httptest.NewRecorder()
	if err := (Admin{}).handle(w, httptest.NewRequest(http.MethodGet, AdminPath, nil)); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(w.Body.String()) != `{"routes":{"web-8000":"10.0.0.2:8000"}}` {
		t.Fatalf("GET: %s", w.Body)
	}
	err := (Admin{}).handle(httptest.NewRecorder(), httptest.NewRequest(http.MethodDelete, AdminPath, nil))
	if apiErr, ok := err.(caddy.APIError); !ok || apiErr.HTTPStatus != 405 {
		t.Fatalf("DELETE: %v", err)
	}
	if err := (&Upstreams{Route: "bad route"}).Provision(caddy.Context{}); err == nil {
		t.Fatal("a bad route id was provisioned")
	}
}
