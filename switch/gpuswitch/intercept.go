package gpuswitch

import (
	"io"
	"maps"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// interceptor is the ResponseWriter one try of a held request writes to. It keeps the try's headers to itself
// until the final status is known: a 503 from a copy (a copy that loads refuses with 503) is swallowed when the
// request will be sent again, so that nothing of it reaches the client; any other final status is passed on,
// and from then on every write goes straight through (streams, trailers and upgrades included).
type interceptor struct {
	*caddyhttp.ResponseWriterWrapper
	header http.Header
	// intercept503: swallow a 503 (the request can be sent again).
	intercept503 bool
	// status is the final status the try wrote (0: none yet).
	status int
	// committed: the final status went to the client; swallowed: a 503 was kept from it.
	committed, swallowed bool
}

// newInterceptor starts a try with the headers the client's response had before the first try (base).
func newInterceptor(w http.ResponseWriter, base http.Header, intercept503 bool) *interceptor {
	return &interceptor{
		ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w},
		header:                base.Clone(),
		intercept503:          intercept503,
	}
}

// Header is the try's own header map until the final status is written, then the client's.
func (i *interceptor) Header() http.Header {
	if i.committed {
		return i.ResponseWriter.Header()
	}
	return i.header
}

// copyHeader puts the try's headers in place of the client's.
func (i *interceptor) copyHeader() {
	h := i.ResponseWriter.Header()
	clear(h)
	maps.Copy(h, i.header)
}

// WriteHeader passes informational statuses on, swallows a 503 when told to and commits any other status.
func (i *interceptor) WriteHeader(code int) {
	switch {
	case i.committed:
		i.ResponseWriter.WriteHeader(code) // trailers, or a superfluous call: net/http handles both
	case i.swallowed:
	case code >= 100 && code < 200 && code != http.StatusSwitchingProtocols:
		i.copyHeader()
		i.ResponseWriter.WriteHeader(code)
	case code == http.StatusServiceUnavailable && i.intercept503:
		i.status, i.swallowed = code, true
	default:
		i.copyHeader()
		i.status, i.committed = code, true
		i.ResponseWriter.WriteHeader(code)
	}
}

func (i *interceptor) Write(b []byte) (int, error) {
	if !i.committed && !i.swallowed {
		i.WriteHeader(http.StatusOK)
	}
	if i.swallowed {
		return len(b), nil
	}
	return i.ResponseWriter.Write(b)
}

// ReadFrom keeps io.Copy on the wrapper (the embedded one's ReadFrom would bypass Write).
func (i *interceptor) ReadFrom(r io.Reader) (int64, error) {
	if !i.committed && !i.swallowed {
		i.WriteHeader(http.StatusOK)
	}
	if i.swallowed {
		return io.Copy(io.Discard, r)
	}
	return i.ResponseWriterWrapper.ReadFrom(r)
}

// FlushError flushes only what was committed: a flush before the final status would send a 200.
func (i *interceptor) FlushError() error {
	if !i.committed {
		return nil
	}
	return http.NewResponseController(i.ResponseWriter).Flush()
}

// Flush is FlushError for callers that use http.Flusher.
func (i *interceptor) Flush() { i.FlushError() }

// Interface guards.
var (
	_ http.Flusher  = (*interceptor)(nil)
	_ io.ReaderFrom = (*interceptor)(nil)
)
