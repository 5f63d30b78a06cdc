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
	"encoding/json"
	"errors"
	"flag"
	"fmt"
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
