// argocd-lua runs Argo CD resource health checks (resource_customizations/<group>/<Kind>/health.lua)
// in gopher-lua, the Lua VM Argo CD embeds, with the libraries Argo CD gives them. Written for
// meshward's tests (see e2e/controlplane/README.md); it is not Argo CD code, only modelled on how
// Argo CD's util/lua runs a health script:
//
//   - one fresh LState per run; the standard libraries are opened only when "useOpenLibs" is on
//     (Argo CD's built-in scripts and its own tests), otherwise skipped (an argocd-cm
//     customization without resource.customizations.useOpenLibs.<group_Kind>);
//   - in both cases package, base, table and a safe os (only os.time and os.date) are opened,
//     and os is preloaded so require("os") gives the same table;
//   - the object is the global `obj`, converted from JSON (objects to string-keyed tables, arrays
//     to sequences, null to nil); the run is cancelled after one second;
//   - the returned table goes through JSON (layeh.com/gopher-json, as Argo CD) into
//     {status, message}: nil or a table of the wrong shape gives an empty status, a status code
//     Argo CD does not know gives Unknown with "Lua returned an invalid health status", any other
//     return type is an error.
//
// Usage:
//
//	argocd-lua test [--libs=both|open|argocd-cm] DIR...
//	    Finds every health.lua under each DIR, reads health_test.yaml beside it
//	    (tests: [{inputPath, healthStatus: {status, message}}]) and checks each case exactly, as
//	    Argo CD's TestLuaHealthScript does. Prints a JSON array of results on stdout, one line per
//	    case on stderr; exit 0 when all pass, 1 when one fails, 2 on a usage or read error.
//	argocd-lua health [--libs=open|argocd-cm] SCRIPT
//	    Runs SCRIPT on the object read (JSON or YAML) from stdin; prints the health as JSON.
//	    Exit 1 when the script fails.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	luajson "layeh.com/gopher-json"
	"sigs.k8s.io/yaml"
)

// Health is what Argo CD shows for a resource (gitops-engine's health.HealthStatus).
type Health struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
}

// The health codes Argo CD accepts from a script.
var healthCodes = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true,
}

const (
	invalidHealthStatus = "Lua returned an invalid health status"
	runTimeout          = time.Second
)

// safeOs holds the two os functions Argo CD exposes. They are gopher-lua's own os.time and os.date
// (Argo CD's safe os library is a copy of those two), taken from a scratch state.
func safeOs() map[string]lua.LGFunction {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	l.Push(l.NewFunction(lua.OpenOs))
	l.Call(0, 1)
	full := l.Get(-1).(*lua.LTable)
	funcs := map[string]lua.LGFunction{}
	for _, name := range []string{"time", "date"} {
		funcs[name] = full.RawGetString(name).(*lua.LFunction).GFunction
	}
	return funcs
}

var safeOsFuncs = safeOs()

func openSafeOs(l *lua.LState) int {
	l.Push(l.RegisterModule(lua.OsLibName, safeOsFuncs))
	return 1
}

func loadSafeOs(l *lua.LState) int {
	l.Push(l.SetFuncs(l.NewTable(), safeOsFuncs))
	return 1
}

// newState is a Lua state set up as Argo CD sets one up for a health script.
func newState(openLibs bool) (*lua.LState, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: !openLibs})
	libs := []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, openSafeOs},
	}
	for _, lib := range libs {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			l.Close()
			return nil, fmt.Errorf("opening the %q library: %w", lib.name, err)
		}
	}
	l.PreloadModule(lua.OsLibName, loadSafeOs)
	return l, nil
}

// toLua converts a decoded JSON value into the Lua value a health script sees.
func toLua(l *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case []any:
		t := l.CreateTable(len(x), 0)
		for _, item := range x {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(x))
		for k, item := range x {
			t.RawSetH(lua.LString(k), toLua(l, item))
		}
		return t
	}
	return lua.LNil
}

// fromLua reads a script's return value as Argo CD does.
func fromLua(v lua.LValue) (Health, error) {
	switch v.Type() {
	case lua.LTNil:
		return Health{}, nil
	case lua.LTTable:
	default:
		return Health{}, fmt.Errorf("expect table output from Lua script, not %s", v.Type())
	}
	encoded, err := luajson.Encode(v)
	if err != nil {
		return Health{}, err
	}
	var h Health
	if err := json.Unmarshal(encoded, &h); err != nil {
		// An empty table encodes as [], and a field of another type fails the same way: Argo CD
		// reads both as an empty health.
		if _, isType := errors.AsType[*json.UnmarshalTypeError](err); isType {
			return Health{}, nil
		}
		return Health{}, err
	}
	if !healthCodes[h.Status] {
		return Health{Status: "Unknown", Message: invalidHealthStatus}, nil
	}
	return h, nil
}

// runHealth runs a health script on an object (decoded JSON) and returns the health Argo CD shows.
func runHealth(script string, obj map[string]any, openLibs bool) (Health, error) {
	l, err := newState(openLibs)
	if err != nil {
		return Health{}, err
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	fn, err := l.LoadString(script)
	if err != nil {
		return Health{}, err
	}
	l.Push(fn)
	if err := l.PCall(0, lua.MultRet, nil); err != nil {
		if apiErr, ok := errors.AsType[*lua.ApiError](err); ok && apiErr.Type == lua.ApiErrorRun {
			apiErr.StackTrace = ""
		}
		return Health{}, err
	}
	return fromLua(l.Get(-1))
}

// decodeObject reads a Kubernetes object from YAML or JSON, numbers as float64 (as Argo CD's test
// reads its testdata).
func decodeObject(data []byte) (map[string]any, error) {
	obj := map[string]any{}
	if err := yaml.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// groupKind is the <group>/<Kind> folder Argo CD looks the object's built-in script up in.
func groupKind(obj map[string]any) string {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	group := ""
	if i := strings.Index(apiVersion, "/"); i >= 0 {
		group = apiVersion[:i]
	}
	if group == "" {
		return kind
	}
	return group + "/" + kind
}

type testFile struct {
	Tests []struct {
		InputPath    string `json:"inputPath"`
		HealthStatus Health `json:"healthStatus"`
	} `json:"tests"`
}

// Result is one case of one health_test.yaml in one library mode.
type Result struct {
	Dir       string  `json:"dir"`
	InputPath string  `json:"inputPath"`
	Libs      string  `json:"libs"`
	Expected  Health  `json:"expected"`
	Actual    *Health `json:"actual,omitempty"`
	Error     string  `json:"error,omitempty"`
	Pass      bool    `json:"pass"`
}

func testDir(dir string, modes []string) ([]Result, error) {
	script, err := os.ReadFile(filepath.Join(dir, "health.lua"))
	if err != nil {
		return nil, err
	}
	spec, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
	if err != nil {
		return nil, fmt.Errorf("%s has a health.lua but no health_test.yaml beside it: %w", dir, err)
	}
	var tf testFile
	if err := yaml.UnmarshalStrict(spec, &tf); err != nil {
		return nil, fmt.Errorf("%s/health_test.yaml: %w", dir, err)
	}
	if len(tf.Tests) == 0 {
		return nil, fmt.Errorf("%s/health_test.yaml has no tests", dir)
	}
	var results []Result
	for _, tc := range tf.Tests {
		for _, mode := range modes {
			r := Result{Dir: dir, InputPath: tc.InputPath, Libs: mode, Expected: tc.HealthStatus}
			h, err := runCase(dir, tc.InputPath, string(script), mode == "open")
			if err != nil {
				r.Error = err.Error()
			} else {
				r.Actual = &h
				r.Pass = h == tc.HealthStatus
			}
			results = append(results, r)
		}
	}
	return results, nil
}

func runCase(dir, inputPath, script string, openLibs bool) (Health, error) {
	data, err := os.ReadFile(filepath.Join(dir, inputPath))
	if err != nil {
		return Health{}, err
	}
	obj, err := decodeObject(data)
	if err != nil {
		return Health{}, fmt.Errorf("%s: %w", inputPath, err)
	}
	// Argo CD picks the script by the object's group and kind: an object of another kind would be
	// checked against another script there.
	if gk := groupKind(obj); !strings.HasSuffix(filepath.ToSlash(filepath.Clean(dir)), "/"+gk) {
		return Health{}, fmt.Errorf("%s is a %s, but Argo CD runs %s/health.lua only for objects of that folder's group and kind", inputPath, gk, dir)
	}
	return runHealth(script, obj, openLibs)
}

func libModes(value string, allowBoth bool) ([]string, error) {
	switch value {
	case "open", "argocd-cm":
		return []string{value}, nil
	case "both":
		if allowBoth {
			return []string{"open", "argocd-cm"}, nil
		}
	}
	return nil, fmt.Errorf("--libs=%s: write open (standard libraries, as Argo CD runs built-in scripts and its tests) or argocd-cm (no standard libraries, as an argocd-cm customization runs by default)%s", value, map[bool]string{true: " or both", false: ""}[allowBoth])
}

func cmdTest(args []string) int {
	fl := flag.NewFlagSet("test", flag.ContinueOnError)
	libs := fl.String("libs", "both", "open, argocd-cm or both")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	modes, err := libModes(*libs, true)
	if err != nil || fl.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: argocd-lua test [--libs=both|open|argocd-cm] DIR...", err)
		return 2
	}
	results := []Result{}
	for _, root := range fl.Args() {
		found := false
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || d.Name() != "health.lua" {
				return nil
			}
			found = true
			rs, err := testDir(filepath.Dir(path), modes)
			results = append(results, rs...)
			return err
		})
		if err == nil && !found {
			err = fmt.Errorf("no health.lua under %s", root)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "argocd-lua:", err)
			return 2
		}
	}
	failed := 0
	for _, r := range results {
		verdict := "PASS"
		if !r.Pass {
			verdict = "FAIL"
			failed++
		}
		fmt.Fprintf(os.Stderr, "%s %s/%s (%s)", verdict, r.Dir, r.InputPath, r.Libs)
		switch {
		case r.Error != "":
			fmt.Fprintf(os.Stderr, ": %s", r.Error)
		case !r.Pass:
			fmt.Fprintf(os.Stderr, ": want %+v, got %+v", r.Expected, *r.Actual)
		}
		fmt.Fprintln(os.Stderr)
	}
	out, _ := json.Marshal(results)
	fmt.Println(string(out))
	if failed > 0 {
		return 1
	}
	return 0
}

func cmdHealth(args []string) int {
	fl := flag.NewFlagSet("health", flag.ContinueOnError)
	libs := fl.String("libs", "argocd-cm", "open or argocd-cm")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	modes, err := libModes(*libs, false)
	if err != nil || fl.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: argocd-lua health [--libs=open|argocd-cm] SCRIPT < object", err)
		return 2
	}
	h, err := healthOfStdin(fl.Arg(0), modes[0] == "open")
	if err != nil {
		fmt.Fprintln(os.Stderr, "argocd-lua:", err)
		return 1
	}
	out, _ := json.Marshal(h)
	fmt.Println(string(out))
	return 0
}

func healthOfStdin(scriptPath string, openLibs bool) (Health, error) {
	script, err := os.ReadFile(scriptPath)
	if err != nil {
		return Health{}, err
	}
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		return Health{}, err
	}
	obj, err := decodeObject(input)
	if err != nil {
		return Health{}, fmt.Errorf("the object on stdin: %w", err)
	}
	return runHealth(string(script), obj, openLibs)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: argocd-lua test|health ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "test":
		os.Exit(cmdTest(os.Args[2:]))
	case "health":
		os.Exit(cmdHealth(os.Args[2:]))
	}
	fmt.Fprintf(os.Stderr, "argocd-lua: unknown command %q: write test or health\n", os.Args[1])
	os.Exit(2)
}
