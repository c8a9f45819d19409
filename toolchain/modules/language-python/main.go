// Command pulumi-language-python is a Python language host for the Pulumi
// engine, for machines that can reach the Go module proxy but not Pulumi's
// release downloads.
//
// The upstream host (module github.com/pulumi/pulumi/sdk/python/cmd/
// pulumi-language-python/v3) is not served by the module proxy this project
// installs from at any version, so this host implements the part of the
// LanguageRuntime protocol that `pulumi preview`, `up`, `destroy` and Python
// policy packs use, on the same helper script the upstream host runs
// (pulumi-language-python-exec from the SDK module, installed beside it).
// Programs and policy packs run in the virtualenv their Pulumi.yaml or
// PulumiPolicy.yaml names under `runtime.options.virtualenv`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	pbempty "google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is stamped at build time to the Pulumi release this host pairs with.
var version = "0.0.0-dev"

// exitCodeUserActionableError is what the exec script exits with after it has
// already shown the user an error; the engine is told to bail without another.
const exitCodeUserActionableError = 32

func main() {
	engineAddress := ""
	for _, arg := range os.Args[1:] {
		if !strings.HasPrefix(arg, "-") {
			engineAddress = arg // the engine passes its address as the last positional argument
		}
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
		os.Exit(1)
	}
	host := &pythonHost{
		engineAddress: engineAddress,
		execScript:    filepath.Join(filepath.Dir(self), "pulumi-language-python-exec"),
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(server *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(server, host)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: could not serve: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port) // the engine reads the port from the first line of stdout
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
		os.Exit(1)
	}
}

type pythonHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
	execScript    string
}

func (h *pythonHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *pythonHost) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// virtualenv is the program's virtualenv: runtime.options.virtualenv, relative
// to the project's root directory.
func virtualenv(info *pulumirpc.ProgramInfo) (string, error) {
	if info == nil {
		return "", status.Error(codes.InvalidArgument, "missing program info")
	}
	venv, _ := info.GetOptions().AsMap()["virtualenv"].(string)
	if venv == "" {
		return "", status.Errorf(codes.FailedPrecondition,
			"%s: runtime.options.virtualenv is not set; this host runs programs in a virtualenv only",
			info.GetRootDirectory())
	}
	if !filepath.IsAbs(venv) {
		venv = filepath.Join(info.GetRootDirectory(), venv)
	}
	return venv, nil
}

func pythonIn(venv string) (string, error) {
	python := filepath.Join(venv, "bin", "python")
	if _, err := os.Stat(python); err != nil {
		return "", status.Errorf(codes.FailedPrecondition,
			"the virtualenv %s does not exist; create it and install requirements.txt into it", venv)
	}
	return python, nil
}

// pulumiPlugin is the pulumi-plugin.json a provider SDK package ships.
type pulumiPlugin struct {
	Resource bool   `json:"resource"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Server   string `json:"server"`
}

// installedPlugins lists the resource plugins the SDK packages in the
// virtualenv declare, so the engine loads them up front.
func installedPlugins(venv string) ([]pulumiPlugin, error) {
	manifests, err := filepath.Glob(filepath.Join(venv, "lib", "python3*", "site-packages", "*", "pulumi-plugin.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(manifests)
	var plugins []pulumiPlugin
	for _, manifest := range manifests {
		data, err := os.ReadFile(manifest)
		if err != nil {
			return nil, err
		}
		var plugin pulumiPlugin
		if err := json.Unmarshal(data, &plugin); err != nil {
			return nil, fmt.Errorf("%s: %w", manifest, err)
		}
		if !plugin.Resource {
			continue
		}
		if plugin.Name == "" {
			plugin.Name = strings.TrimPrefix(filepath.Base(filepath.Dir(manifest)), "pulumi_")
		}
		plugin.Version = strings.TrimPrefix(plugin.Version, "v")
		plugins = append(plugins, plugin)
	}
	return plugins, nil
}

// requiredPlugins is what both plugin-listing RPCs answer, from the program's virtualenv.
func requiredPlugins(info *pulumirpc.ProgramInfo) ([]pulumiPlugin, error) {
	venv, err := virtualenv(info)
	if err != nil {
		return nil, err
	}
	return installedPlugins(venv)
}

func (h *pythonHost) GetRequiredPlugins(
	_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	plugins, err := requiredPlugins(req.GetInfo())
	if err != nil {
		return nil, err
	}
	response := &pulumirpc.GetRequiredPluginsResponse{}
	for _, p := range plugins {
		response.Plugins = append(response.Plugins,
			&pulumirpc.PluginDependency{Name: p.Name, Kind: "resource", Version: p.Version, Server: p.Server})
	}
	return response, nil
}

func (h *pythonHost) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	plugins, err := requiredPlugins(req.GetInfo())
	if err != nil {
		return nil, err
	}
	response := &pulumirpc.GetRequiredPackagesResponse{}
	for _, p := range plugins {
		response.Packages = append(response.Packages,
			&pulumirpc.PackageDependency{Name: p.Name, Kind: "resource", Version: p.Version, Server: p.Server})
	}
	return response, nil
}

// Run executes the program through the exec script, which connects it to the
// engine's resource monitor.
func (h *pythonHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	venv, err := virtualenv(req.GetInfo())
	if err != nil {
		return nil, err
	}
	python, err := pythonIn(venv)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	// The exec script reads both as JSON and expects an object and a list, never null.
	configValues := req.GetConfig()
	if configValues == nil {
		configValues = map[string]string{}
	}
	config, err := json.Marshal(configValues)
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(append([]string{}, req.GetConfigSecretKeys()...))
	if err != nil {
		return nil, err
	}
	program := filepath.Join(req.GetInfo().GetProgramDirectory(), req.GetInfo().GetEntryPoint())
	args := []string{"-u", h.execScript,
		"--monitor", req.GetMonitorAddress(),
		"--engine", h.engineAddress,
		"--project", req.GetProject(),
		"--stack", req.GetStack(),
		"--pwd", req.GetPwd(),
		"--dry_run", strconv.FormatBool(req.GetDryRun()),
		"--parallel", strconv.Itoa(int(req.GetParallel())),
		"--organization", req.GetOrganization(),
		"--root_directory", req.GetInfo().GetRootDirectory(),
		program,
	}
	args = append(args, req.GetArgs()...)

	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = append(venvEnvironment(os.Environ(), venv),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys),
	)
	// The engine relays this host's output to the user as the stack's messages.
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == exitCodeUserActionableError {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("program exited with non-zero exit code: %d", exitErr.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// RunPlugin runs a plugin written in Python, such as a policy pack: its
// directory's __main__.py, in its own virtualenv, streaming its output back.
func (h *pythonHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	venv, err := virtualenv(req.GetInfo())
	if err != nil {
		return err
	}
	python, err := pythonIn(venv)
	if err != nil {
		return err
	}
	program := filepath.Join(req.GetInfo().GetProgramDirectory(), req.GetInfo().GetEntryPoint())
	cmd := exec.CommandContext(server.Context(), python, append([]string{"-u", program}, req.GetArgs()...)...)
	cmd.Dir = req.GetPwd()
	environment := req.GetEnv()
	if len(environment) == 0 {
		environment = os.Environ()
	}
	cmd.Env = venvEnvironment(environment, venv)
	code, err := streamCommand(cmd, func(stdout, stderr []byte) error {
		if stdout != nil {
			return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: stdout}})
		}
		return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: stderr}})
	})
	if err != nil {
		return err
	}
	return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code}})
}

// InstallDependencies creates the virtualenv if needed and installs the
// project's requirements.txt into it (what `pulumi install` asks for).
func (h *pythonHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	venv, err := virtualenv(req.GetInfo())
	if err != nil {
		return err
	}
	steps := [][]string{}
	if _, err := os.Stat(filepath.Join(venv, "bin", "python")); err != nil {
		steps = append(steps, []string{"python3", "-m", "venv", venv})
	}
	requirements := filepath.Join(req.GetInfo().GetRootDirectory(), "requirements.txt")
	if _, err := os.Stat(requirements); err == nil {
		steps = append(steps, []string{filepath.Join(venv, "bin", "python"), "-m", "pip", "install", "-r", requirements})
	}
	for _, step := range steps {
		cmd := exec.CommandContext(server.Context(), step[0], step[1:]...)
		cmd.Dir = req.GetInfo().GetRootDirectory()
		code, err := streamCommand(cmd, func(stdout, stderr []byte) error {
			return server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: stdout, Stderr: stderr})
		})
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("%s exited with code %d", strings.Join(step, " "), code)
		}
	}
	return nil
}

func (h *pythonHost) About(_ context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	response := &pulumirpc.AboutResponse{Executable: "python3"}
	if venv, err := virtualenv(req.GetInfo()); err == nil {
		if python, err := pythonIn(venv); err == nil {
			response.Executable = python
			if out, err := exec.Command(python, "--version").Output(); err == nil {
				response.Version = strings.TrimSpace(strings.TrimPrefix(string(out), "Python "))
			}
		}
	}
	return response, nil
}

func (h *pythonHost) GetProgramDependencies(
	context.Context, *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return &pulumirpc.GetProgramDependenciesResponse{}, nil
}

// venvEnvironment activates the virtualenv in an environment, as its
// bin/activate would.
func venvEnvironment(environment []string, venv string) []string {
	result := make([]string, 0, len(environment)+1)
	path := ""
	for _, entry := range environment {
		switch {
		case strings.HasPrefix(entry, "PATH="):
			path = strings.TrimPrefix(entry, "PATH=")
		case strings.HasPrefix(entry, "PYTHONHOME="), strings.HasPrefix(entry, "VIRTUAL_ENV="):
		default:
			result = append(result, entry)
		}
	}
	return append(result,
		"VIRTUAL_ENV="+venv,
		"PATH="+filepath.Join(venv, "bin")+string(os.PathListSeparator)+path,
	)
}

// streamCommand runs cmd, passing its output to send as it arrives (one of
// stdout and stderr is nil in each call), and returns its exit code.
func streamCommand(cmd *exec.Cmd, send func(stdout, stderr []byte) error) (int32, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var sendLock sync.Mutex // a gRPC stream takes one Send at a time
	var sendErr error
	forward := func(reader io.Reader, isStdout bool) {
		buffer := make([]byte, 32*1024)
		for {
			n, readErr := reader.Read(buffer)
			if n > 0 {
				data := append([]byte(nil), buffer[:n]...)
				sendLock.Lock()
				var err error
				if isStdout {
					err = send(data, nil)
				} else {
					err = send(nil, data)
				}
				if err != nil && sendErr == nil {
					sendErr = err
				}
				sendLock.Unlock()
			}
			if readErr != nil {
				return
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); forward(stdout, true) }()
	go func() { defer wg.Done(); forward(stderr, false) }()
	wg.Wait()
	code := int32(0)
	if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return 0, err
		}
		code = int32(exitErr.ExitCode())
	}
	return code, sendErr
}
