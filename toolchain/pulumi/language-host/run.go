// The run of a program: the stack config handed to node (in its environment, or through a pipe when it is too
// big for one environment string), cmd/run's command line and environment, and Run itself.

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// configEnv renders the stack config as @pulumi/pulumi reads it: `<namespace>:config:<name>` keys (the form
// every SDK version understands) in PULUMI_CONFIG, and the secret keys in PULUMI_CONFIG_SECRET_KEYS.
func configEnv(req *pulumirpc.RunRequest) ([]string, error) {
	values := map[string]string{}
	for k, v := range req.GetConfig() {
		key, err := config.ParseKey(k)
		if err != nil {
			return nil, err
		}
		values[key.Namespace()+":config:"+key.Name()] = v
	}
	valuesJSON, err := json.Marshal(values)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	return []string{"PULUMI_CONFIG=" + string(valuesJSON), "PULUMI_CONFIG_SECRET_KEYS=" + string(secretKeysJSON)}, nil
}

// maxConfigEnvBytes is the largest PULUMI_CONFIG=… entry handed to node in its environment. Linux refuses an
// exec with any one environment string over 128 KiB (MAX_ARG_STRLEN): `fork/exec node: argument list too long`,
// which the official host runs into too (pulumi/pulumi#8680). The stack config's values are JSON strings inside
// that JSON, so a stack of some 300 services passes it. Above this size the config goes through a pipe instead.
const maxConfigEnvBytes = 64 << 10

// configFDEnv names node's file descriptor that the config comes through when it is too big for the environment.
const configFDEnv = "PULUMI_NODEJS_CONFIG_FD"

// configPipe carries a big stack config to node: node reads fd 3 to its end before the program starts.
type configPipe struct {
	r, w *os.File
	data string
}

func newConfigPipe(data string) (*configPipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	return &configPipe{r: r, w: w, data: data}, nil
}

// started closes this process's read end (node has its own) and writes the config; a node that is gone
// before it has read it ends the write with EPIPE, and its exit says why.
func (p *configPipe) started() {
	p.r.Close()
	go func() {
		_, _ = io.WriteString(p.w, p.data)
		p.w.Close()
	}()
}

// configPreload is an ES module (`node --import`, as a data: URL: no file to write) that runs before cmd/run:
// it reads the config from fd 3 into PULUMI_CONFIG, has @pulumi/pulumi (runtime/state at statePath, the copy
// cmd/run loads) copy it into its store, as it does from the environment when first asked, and takes it out of
// the environment again, so that the program's own child processes (kubectl, git, docker) do not inherit it and
// hit the same limit.
func configPreload(statePath string) string {
	path, _ := json.Marshal(statePath)
	code := `import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
const fd = Number(process.env.` + configFDEnv + `);
process.env.PULUMI_CONFIG = readFileSync(fd, "utf8");
createRequire(` + string(path) + `)(` + string(path) + `).getStore();
delete process.env.PULUMI_CONFIG;
delete process.env.` + configFDEnv + `;
`
	return "data:text/javascript;base64," + base64.StdEncoding.EncodeToString([]byte(code))
}

// storeEnv is what cmd/run puts in the environment from its arguments (PULUMI_NODEJS_*), set before node starts:
// the config preload has @pulumi/pulumi make its store before cmd/run runs, and the store takes these then.
func (h *languageHost) storeEnv(req *pulumirpc.RunRequest) []string {
	var env []string
	add := func(key, value string) {
		if value != "" {
			env = append(env, key+"="+value)
		}
	}
	add("PULUMI_NODEJS_ORGANIZATION", req.GetOrganization())
	add("PULUMI_NODEJS_PROJECT", req.GetProject())
	add("PULUMI_NODEJS_ROOT_DIRECTORY", req.GetInfo().GetRootDirectory())
	add("PULUMI_NODEJS_STACK", req.GetStack())
	if req.GetDryRun() {
		add("PULUMI_NODEJS_DRY_RUN", "true")
	}
	add("PULUMI_NODEJS_PARALLEL", strconv.Itoa(int(req.GetParallel())))
	add("PULUMI_NODEJS_MONITOR", req.GetMonitorAddress())
	add("PULUMI_NODEJS_ENGINE", h.engineAddress)
	return env
}

// runArgs is cmd/run's command line for one RunRequest, in the official host's order.
func (h *languageHost) runArgs(req *pulumirpc.RunRequest, runPath string) []string {
	args := []string{runPath}
	add := func(flagName, value string) {
		if value != "" {
			args = append(args, "--"+flagName, value)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engineAddress)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("root-directory", req.GetInfo().GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", req.GetInfo().GetProgramDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	args = append(args, req.GetInfo().GetEntryPoint())
	return append(args, req.GetArgs()...)
}

func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	fail := func(err error) (*pulumirpc.RunResponse, error) {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	nodeBin, opts, runPath, err := nodeEntry(req.GetInfo(), "@pulumi/pulumi/cmd/run")
	if err != nil {
		return fail(err)
	}
	cfg, err := configEnv(req)
	if err != nil {
		return fail(fmt.Errorf("failed to serialize the stack config: %w", err))
	}
	nodeArgs := append([]string{}, opts.nodeArgs...)
	var bigConfig *configPipe
	if len(cfg[0]) > maxConfigEnvBytes {
		statePath, err := resolveModule(nodeBin, req.GetInfo().GetProgramDirectory(), "@pulumi/pulumi/runtime/state")
		if err != nil {
			return fail(err)
		}
		if bigConfig, err = newConfigPipe(strings.TrimPrefix(cfg[0], "PULUMI_CONFIG=")); err != nil {
			return fail(fmt.Errorf("could not pass the stack config through a pipe: %w", err))
		}
		nodeArgs = append(nodeArgs, "--import", configPreload(statePath))
		cfg = append(append([]string{configFDEnv + "=3"}, cfg[1:]...), h.storeEnv(req)...)
	}
	env := append(append(os.Environ(), cfg...), opts.env()...)
	args := append(nodeArgs, h.runArgs(req, runPath)...)

	cmd := exec.CommandContext(ctx, nodeBin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = env
	// Node may switch its stdio to non-blocking mode: never hand it our own file descriptors.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	if bigConfig != nil {
		cmd.ExtraFiles = []*os.File{bigConfig.r} // fd 3 in node
	}
	err = cmd.Start()
	if bigConfig != nil {
		bigConfig.started()
	}
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return fail(fmt.Errorf("problem executing program (could not run node): %w", err))
		}
		if exitErr.ExitCode() == bailExitCode {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return fail(fmt.Errorf("Program exited with non-zero exit code: %d", exitErr.ExitCode()))
	}
	return &pulumirpc.RunResponse{}, nil
}
