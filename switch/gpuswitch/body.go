package gpuswitch

import (
	"bytes"
	"io"
	"net/http"
)

// maxReplayBody: a request body whose Content-Length is at most this is read before the first try, so that the
// request can be sent again whole. A larger body, or one of unknown length (chunked: it may be a stream the
// client writes while it reads the answer), is streamed to the copy and not sent again once a copy read from it.
const maxReplayBody = 8 << 20

// reqBody is a held request's body, as each try sends it.
type reqBody struct {
	buf []byte
	// whole: buf is the whole body, which can be sent any number of times.
	whole bool
	// stream is the body as the client sends it (not whole).
	stream io.Reader
	// used: a try read from stream, so the request cannot be sent again.
	used bool
}

// readBody reads a body of a declared length up to maxReplayBody; any other body is left to stream.
func readBody(r *http.Request) (*reqBody, error) {
	switch {
	case r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0:
		return &reqBody{whole: true}, nil
	case r.ContentLength < 0 || r.ContentLength > maxReplayBody || r.Method == http.MethodConnect || r.Header.Get("Upgrade") != "":
		return &reqBody{stream: r.Body}, nil
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, maxReplayBody+1))
	if err != nil {
		return nil, err
	}
	return &reqBody{buf: buf, whole: true}, nil
}

// resendable: the body can be sent (again): it is whole, or no try read from the stream yet.
func (b *reqBody) resendable() bool { return b.whole || !b.used }

// attach gives a try its body.
func (b *reqBody) attach(req *http.Request) {
	if !b.whole {
		req.Body = io.NopCloser(usedReader{b})
		return
	}
	req.ContentLength = int64(len(b.buf))
	req.TransferEncoding = nil
	if len(b.buf) == 0 {
		req.Body = http.NoBody
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(b.buf))
}

// usedReader marks the body used once a try read a byte of it.
type usedReader struct{ b *reqBody }

func (u usedReader) Read(p []byte) (int, error) {
	n, err := u.b.stream.Read(p)
	if n > 0 {
		u.b.used = true
	}
	return n, err
}
