package gpuswitch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// AdminPath is the admin API route of the table.
const AdminPath = "/gpu-switch/upstreams"

// maxBody bounds a POST to the admin route.
const maxBody = 1 << 20

// Admin is the admin API module admin.api.gpu_switch: the route table on the admin endpoint.
//
//	GET  /gpu-switch/upstreams  200 {"routes":{"<id>":"<dial>",...}}
//	POST /gpu-switch/upstreams  {"routes":{"<id>":"<dial>"|null,...}}: sets (a dial) or removes (null) each route
//	                            named, all or none, persisted before the answer; 200 with the whole new table,
//	                            400 naming the bad entry, 500 when the file could not be written (nothing changed)
type Admin struct{}

// CaddyModule returns the Caddy module information.
func (Admin) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.gpu_switch",
		New: func() caddy.Module { return new(Admin) },
	}
}

// Provision reads the table file on first use (the admin endpoint starts before the apps of a resumed config).
func (a *Admin) Provision(ctx caddy.Context) error {
	ensureLoaded(ctx.Logger())
	return nil
}

// Routes returns the admin route of the table.
func (a Admin) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: AdminPath, Handler: caddy.AdminHandlerFunc(a.handle)}}
}

func (Admin) handle(w http.ResponseWriter, r *http.Request) error {
	var routes map[string]string
	switch r.Method {
	case http.MethodGet:
		routes = snapshot()
	case http.MethodPost:
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
		}
		var changes struct {
			Routes map[string]*string `json:"routes"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&changes); err != nil || changes.Routes == nil {
			if err == nil {
				err = fmt.Errorf(`want {"routes":{"<route>":"<host:port>"|null,...}}`)
			}
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("POST %s: %v", AdminPath, err)}
		}
		for id, dial := range changes.Routes {
			if err := checkChange(id, dial); err != nil {
				return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("POST %s: %v", AdminPath, err)}
			}
		}
		routes, err = update(changes.Routes)
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusInternalServerError,
				Err: fmt.Errorf("POST %s: the table was not changed: %v", AdminPath, err)}
		}
		ids := make([]string, 0, len(changes.Routes))
		for id := range changes.Routes {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		caddy.Log().Named("gpu_switch").Info("route table updated", zap.Strings("changed", ids), zap.Int("routes", len(routes)))
	default:
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed", r.Method)}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(document{Routes: routes})
}

// Interface guards.
var (
	_ caddy.AdminRouter = (*Admin)(nil)
	_ caddy.Provisioner = (*Admin)(nil)
)
