package gpuswitch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"go.uber.org/zap"
)

// HoldHandler is the HTTP handler http.handlers.gpu_switch_hold, placed before reverse_proxy in each route:
// `{"handler":"gpu_switch_hold","route":"<id>"}`. It holds a request until its route is ready, within the
// route's hold budget and queue cap (503 with Retry-After past them), then lets reverse_proxy send it to the
// dial it chose (the gpu_switch upstream source reads that dial from the request). A try that no copy answered
// (a dial error, no upstream, a connection closed before a response header, or a 503 from the copy) marks the
// route not ready; the request is then held again and sent again when the route is ready, if it may be:
//   - a request that never reached a copy (dial error, no upstream) always, while its body can be sent again;
//   - a request a copy took and never answered (closed, or 503) only with hold.replay and a whole body
//     (Content-Length up to 8 MiB, read before the first try); after a closed connection only once, so that a
//     request that kills its copy is not sent to every restart. A 503 from the copy is kept from the client then;
//     without replay it is passed on.
type HoldHandler struct {
	// Route is the route id whose table entry gates the requests, e.g. `stt-8060`. Required.
	Route string `json:"route,omitempty"`

	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (HoldHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.gpu_switch_hold",
		New: func() caddy.Module { return new(HoldHandler) },
	}
}

// Provision checks the route id and reads the table file on first use.
func (h *HoldHandler) Provision(ctx caddy.Context) error {
	if !routeRE.MatchString(h.Route) {
		return fmt.Errorf("gpu_switch_hold: route %q is not a route id", h.Route)
	}
	h.logger = ctx.Logger()
	ensureLoaded(h.logger)
	return nil
}

// outcome is how a try ended.
type outcome int

const (
	answered    outcome = iota // the copy's answer went to the client
	clientGone                 // the client went away
	dialFailed                 // no connection to the copy: the request never reached it
	noUpstream                 // no copy to send it to
	closedEarly                // a copy took it and closed before a response header
	refused                    // a copy answered 503, kept from the client
)

// dialKey is the request context key of the dial a ticket chose, read by Upstreams.
type dialKey struct{}

func (h *HoldHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	wt := &waiter{id: h.Route, started: time.Now(), ctx: r.Context()}
	defer observeLatency(h.Route, wt.started)
	body, err := readBody(r)
	if err != nil {
		return caddyhttp.Error(http.StatusBadRequest, fmt.Errorf("reading the request body: %w", err))
	}
	base := w.Header().Clone()
	closedReplays := 0
	for try := 0; ; try++ {
		t, refusal := wt.acquire()
		if refusal != nil {
			h.logRefusal(r, wt, refusal)
			return refusal.answer(w, base)
		}
		if try == 0 && wt.held {
			h.logger.Info("request held", zap.String("route", h.Route), zap.String("method", r.Method),
				zap.String("uri", r.RequestURI), zap.Duration("waited", time.Since(wt.started)))
		}
		kind, why, err := h.try(w, r, next, t, body, base)
		if kind == answered || kind == clientGone {
			return err
		}
		replay := false
		switch kind {
		case dialFailed, noUpstream:
			replay = body.resendable()
		case refused:
			replay = true // only swallowed when it may be sent again
		case closedEarly:
			replay = t.hold.Replay && body.whole && closedReplays == 0
			closedReplays++
		}
		if !replay {
			t.count(http.StatusBadGateway)
			h.logger.Warn("request not sent again", zap.String("route", h.Route), zap.String("method", r.Method),
				zap.String("uri", r.RequestURI), zap.String("why", why), zap.Bool("replay", t.hold.Replay), zap.Bool("bodyWhole", body.whole))
			return err
		}
		t.replayed(r, why, try)
	}
}

// try sends the request once, to the ticket's dial, and says how it ended.
func (h *HoldHandler) try(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, t ticket, body *reqBody,
	base http.Header) (kind outcome, why string, err error) {
	iw := newInterceptor(w, base, t.hold.Replay && body.whole)
	req := r.WithContext(context.WithValue(r.Context(), dialKey{}, t.dial))
	body.attach(req)
	defer func() { t.release(kind, iw.status, why) }() // also when reverse_proxy aborts a stream (a panic)
	err = next.ServeHTTP(iw, req)
	kind, why = classify(r, iw, err)
	return kind, why, err
}

// classify names how a try ended from what reached the client and the error reverse_proxy returned (with no
// try_duration it returns the first try's error).
func classify(r *http.Request, iw *interceptor, err error) (outcome, string) {
	var dialErr reverseproxy.DialError
	switch {
	case iw.committed:
		return answered, ""
	case iw.swallowed:
		return refused, "the copy answered 503"
	case err == nil:
		return answered, ""
	case r.Context().Err() != nil:
		return clientGone, ""
	case errors.As(err, &dialErr):
		return dialFailed, "dial: " + dialErr.Error()
	case strings.Contains(err.Error(), "no upstreams available"):
		return noUpstream, "no upstream"
	default:
		var herr caddyhttp.HandlerError
		if errors.As(err, &herr) && herr.Err != nil {
			err = herr.Err
		}
		return closedEarly, "no response header: " + err.Error()
	}
}

func (h *HoldHandler) logRefusal(r *http.Request, wt *waiter, f *refusal) {
	if f.gone {
		h.logger.Debug("client gone while held", zap.String("route", h.Route), zap.String("uri", r.RequestURI))
		return
	}
	h.logger.Warn("request shed: 503", zap.String("route", h.Route), zap.String("method", r.Method),
		zap.String("uri", r.RequestURI), zap.Duration("waited", time.Since(wt.started)),
		zap.Int("retryAfter", f.retryAfter), zap.String("why", f.why))
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*HoldHandler)(nil)
	_ caddyhttp.MiddlewareHandler = (*HoldHandler)(nil)
)
