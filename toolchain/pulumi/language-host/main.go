// Command pulumi-language-nodejs is this project's stand-in for Pulumi's Node.js language host.
//
// The official host is the Go module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3, which
// the module proxy these machines reach does not serve (403 for every version). The CLI needs a language host to
// run a `runtime: nodejs` program at all, so this one implements the LanguageRuntime calls that `pulumi preview`,
// `up`, `destroy`, `refresh`, `import` and `--policy-pack` make, and runs the program the way the official host
// does: `node [nodeargs] <@pulumi/pulumi/cmd/run> --monitor … <entry point>` with the stack config in
// PULUMI_CONFIG (through a pipe when it is too big for the environment, where the official host fails: see
// maxConfigEnvBytes), and Node policy packs through `@pulumi/pulumi/cmd/run-policy-pack` behind the SDK's policy
// proxy. So everything the program does (registering resources, secrets, stack outputs, error printing) is
// @pulumi/pulumi's own code, talking to the real engine.
//
// Left out, as this project does not use them: the monitor proxy and the `--sync` pipes (synchronous invokes),
// debugger attachment, the bun runtime, package installation (`pulumi install`: run `npm ci` yourself), code
// generation and `pulumi new` templates.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/shlex"
	"google.golang.org/protobuf/types/known/emptypb"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// version is set at build time (-ldflags -X main.version=…) to the CLI's version.
var version = "3.0.0-dev"

// bailExitCode is what @pulumi/pulumi's cmd/run exits with after it has printed an actionable message itself.
const bailExitCode = 32

func main() {
	flag.String("tracing", "", "ignored: tracing is not supported by this language host")
	runtimeName := flag.String("runtime", "nodejs", "only nodejs is supported")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	if *runtimeName != "nodejs" {
		cmdutil.Exit(fmt.Errorf("unsupported runtime %q: this language host runs node only", *runtimeName))
	}
	host := &languageHost{}
	if args := flag.Args(); len(args) > 0 {
		host.engineAddress = args[0]
	}
	cancel := make(chan bool)
	var stopOnce sync.Once
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start the language host's RPC server: %w", err))
	}
	if host.engineAddress != "" {
		// Exit with the engine, like every plugin.
		stop := func() { stopOnce.Do(func() { close(cancel) }) }
		if err := rpcutil.Healthcheck(context.Background(), host.engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start the engine health check: %w", err))
		}
	}
	// The port on stdout is how the engine finds us.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host stopped serving: %w", err))
	}
}

type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
}

// nodeOptions are the `runtime.options` of Pulumi.yaml that change how the program is started.
type nodeOptions struct {
	typescript   bool
	tsconfigPath string
	nodeArgs     []string
}

func parseNodeOptions(options map[string]any) (nodeOptions, error) {
	opts := nodeOptions{typescript: true} // Pulumi's default
	if v, ok := options["typescript"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return opts, errors.New("runtime option typescript must be a boolean")
		}
		opts.typescript = b
	}
	if v, ok := options["tsconfig"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, errors.New("runtime option tsconfig must be a string")
		}
		opts.tsconfigPath = s
	}
	if v, ok := options["nodeargs"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, errors.New("runtime option nodeargs must be a string")
		}
		args, err := shlex.Split(s)
		if err != nil {
			return opts, fmt.Errorf("runtime option nodeargs: %w", err)
		}
		opts.nodeArgs = args
	}
	return opts, nil
}

func (o nodeOptions) env() []string {
	var env []string
	if o.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if o.tsconfigPath != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+o.tsconfigPath)
	}
	return env
}

func (h *languageHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engineAddress = req.EngineAddress
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// resolveModule finds a module the way the program's own node would (`require.resolve` from its folder).
func resolveModule(nodeBin, dir, module string) (string, error) {
	script := fmt.Sprintf(`try { console.log(require.resolve(%q)) } catch (e) { console.error(%q); process.exit(1) }`,
		module, "cannot find "+module+" from "+dir+": run npm ci in the project first")
	cmd := exec.Command(nodeBin, "-e", script)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return "", errors.New(strings.TrimSpace(string(exitErr.Stderr)))
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// nodeEntry is what a program run and a policy pack both start from: node on the PATH, the project's runtime
// options, and an @pulumi/pulumi entry point (`module`) resolved from the program's folder.
func nodeEntry(info *pulumirpc.ProgramInfo, module string) (nodeBin string, opts nodeOptions, entry string, err error) {
	if nodeBin, err = exec.LookPath("node"); err != nil {
		return "", opts, "", fmt.Errorf("could not find node on the PATH: %w", err)
	}
	if opts, err = parseNodeOptions(info.GetOptions().AsMap()); err != nil {
		return "", opts, "", err
	}
	entry, err = resolveModule(nodeBin, info.GetProgramDirectory(), module)
	return nodeBin, opts, entry, err
}

// pulumiPackageJSON is the part of a package.json that marks a Pulumi provider SDK.
type pulumiPackageJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Pulumi  *struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

// GetRequiredPackages lists the provider plugins that the program's installed SDKs declare
// (`"pulumi": {"resource": true}` in node_modules/**/package.json, one level of scopes deep), so the engine
// loads them before the program runs and says plainly when one is missing.
func (h *languageHost) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	root := filepath.Join(req.GetInfo().GetProgramDirectory(), "node_modules")
	manifests, _ := filepath.Glob(filepath.Join(root, "*", "package.json"))
	scoped, _ := filepath.Glob(filepath.Join(root, "@*", "*", "package.json"))
	manifests = append(manifests, scoped...)
	sort.Strings(manifests)
	seen := map[string]bool{}
	var packages []*pulumirpc.PackageDependency
	for _, manifest := range manifests {
		data, err := os.ReadFile(manifest)
		if err != nil {
			continue
		}
		var pkg pulumiPackageJSON
		if json.Unmarshal(data, &pkg) != nil || pkg.Pulumi == nil || !pkg.Pulumi.Resource {
			continue
		}
		name := pkg.Pulumi.Name
		if name == "" {
			name = strings.TrimPrefix(pkg.Name, "@pulumi/")
		}
		v := pkg.Pulumi.Version
		if v == "" {
			v = pkg.Version
		}
		if key := name + "@" + v; !seen[key] {
			seen[key] = true
			packages = append(packages, &pulumirpc.PackageDependency{
				Name: name, Kind: string(apitype.ResourcePlugin), Version: "v" + strings.TrimPrefix(v, "v"),
				Server: pkg.Pulumi.Server,
			})
		}
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

func (h *languageHost) GetProgramDependencies(
	context.Context, *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return &pulumirpc.GetProgramDependenciesResponse{}, nil
}

func (h *languageHost) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(nodeBin, "--version").Output()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: nodeBin, Version: strings.TrimSpace(string(out))}, nil
}

// InstallDependencies is a no-op: dependencies are installed with `npm ci` (the README's first command).
func (h *languageHost) InstallDependencies(
	_ *pulumirpc.InstallDependenciesRequest, _ pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	return nil
}

func (h *languageHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

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

// RunPlugin starts a Node policy pack (the only kind of plugin this project runs from source) through
// @pulumi/pulumi's run-policy-pack, behind the SDK's policy proxy, which hands the pack the stack's config.
func (h *languageHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	if req.GetKind() != string(apitype.AnalyzerPlugin) {
		return fmt.Errorf("this language host runs policy packs only, not %s plugins", req.GetKind())
	}
	ctx := server.Context()
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	nodeBin, opts, runPath, err := nodeEntry(req.GetInfo(), "@pulumi/pulumi/cmd/run-policy-pack")
	if err != nil {
		return err
	}
	dir := req.GetInfo().GetProgramDirectory()
	env := append(append([]string{}, req.GetEnv()...), opts.env()...)
	args := append(append([]string{runPath}, opts.nodeArgs...), req.GetArgs()...)
	args = append(args, dir)

	proxy, stdout, err := sdk.NewPolicyProxy(ctx, stdout)
	if err != nil {
		return fmt.Errorf("could not start the policy pack proxy: %w", err)
	}
	stackConfig, err := proxy.AwaitConfiguration(ctx)
	if err != nil {
		return fmt.Errorf("could not get the stack configuration: %w", err)
	}
	if stackConfig != nil {
		add := func(k, v string) {
			if v != "" {
				env = append(env, k+"="+v)
			}
		}
		add("PULUMI_NODEJS_ORGANIZATION", stackConfig.GetOrganization())
		add("PULUMI_NODEJS_PROJECT", stackConfig.GetProject())
		add("PULUMI_NODEJS_STACK", stackConfig.GetStack())
		add("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(stackConfig.GetDryRun()))
		if stackConfig.GetConfig() != nil {
			configJSON, err := json.Marshal(stackConfig.GetConfig())
			if err != nil {
				return err
			}
			add("PULUMI_CONFIG", string(configJSON))
		}
	}
	cmd := exec.CommandContext(ctx, nodeBin, args...)
	cmd.Dir = dir // policy packs run in their own folder, as they always have
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start the policy pack: %w", err)
	}
	if err := proxy.Attach(ctx, cmd); err != nil {
		return fmt.Errorf("could not attach the policy pack proxy: %w", err)
	}
	return closer.Close()
}
