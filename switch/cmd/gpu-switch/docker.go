package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Docker is a client of the Docker Engine API over its unix socket: the three calls the agent needs.
type Docker struct {
	http *http.Client
}

func newDocker(socket string) *Docker {
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
	}
	return &Docker{http: &http.Client{Transport: transport, Timeout: 30 * time.Second}}
}

// ContainerState is the part of `GET /containers/{name}/json` the agent reads.
type ContainerState struct {
	Status  string
	Running bool
	Health  *struct{ Status string }
}

// ready says whether the container may get traffic: healthy, or running when it has no healthcheck.
func (s ContainerState) ready() bool {
	if s.Health != nil {
		return s.Health.Status == "healthy"
	}
	return s.Running
}

func (s ContainerState) String() string {
	if s.Health != nil {
		return s.Status + ", health " + s.Health.Status
	}
	return s.Status + ", no healthcheck"
}

func (d *Docker) do(method, path string, query url.Values) ([]byte, int, error) {
	u := "http://docker" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return body, resp.StatusCode, err
}

// Inspect returns the container's state.
// errNoSuchContainer: the daemon has no container of that name (404).
var errNoSuchContainer = errors.New("no such container")

// Inspect returns the state of a container; the error wraps errNoSuchContainer when there is none.
func (d *Docker) Inspect(name string) (ContainerState, error) {
	body, code, err := d.do("GET", "/containers/"+url.PathEscape(name)+"/json", nil)
	if err != nil {
		return ContainerState{}, err
	}
	if code == http.StatusNotFound {
		return ContainerState{}, fmt.Errorf("inspect %s: %w", name, errNoSuchContainer)
	}
	if code != http.StatusOK {
		return ContainerState{}, fmt.Errorf("inspect %s: %d %s", name, code, bytes.TrimSpace(body))
	}
	var c struct{ State ContainerState }
	if err := json.Unmarshal(body, &c); err != nil {
		return ContainerState{}, fmt.Errorf("inspect %s: %v", name, err)
	}
	return c.State, nil
}

// Logs returns the last `tail` lines of stdout and stderr, interleaved as the daemon sent them.
func (d *Docker) Logs(name string, tail int) (string, error) {
	q := url.Values{"stdout": {"1"}, "stderr": {"1"}, "tail": {fmt.Sprint(tail)}}
	body, code, err := d.do("GET", "/containers/"+url.PathEscape(name)+"/logs", q)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("logs %s: %d %s", name, code, bytes.TrimSpace(body))
	}
	return demux(body), nil
}

// demux strips the 8-byte frame headers of a container without a TTY (stream, 0, 0, 0, size as uint32 BE);
// a TTY container's raw output is returned as it is.
func demux(b []byte) string {
	var out bytes.Buffer
	for len(b) >= 8 && b[0] <= 2 && b[1] == 0 && b[2] == 0 && b[3] == 0 {
		size := int(binary.BigEndian.Uint32(b[4:8]))
		if 8+size > len(b) {
			break
		}
		out.Write(b[8 : 8+size])
		b = b[8+size:]
	}
	out.Write(b)
	return out.String()
}

// Remove force-removes the container (it is stopped first: its GPU memory is freed).
func (d *Docker) Remove(name string) error {
	body, code, err := d.do("DELETE", "/containers/"+url.PathEscape(name), url.Values{"force": {"1"}})
	if err != nil {
		return err
	}
	if code != http.StatusNoContent && code != http.StatusNotFound {
		return fmt.Errorf("remove %s: %d %s", name, code, bytes.TrimSpace(body))
	}
	return nil
}
