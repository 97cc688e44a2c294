// Command controlplane runs embedded etcd and a real kube-apiserver on 127.0.0.1 for the
// controller's integration tests, benchmark and demo.
//
// Everything lives in --data-dir: etcd's data, the API server's certificates, a service-account
// key, the users' tokens and the ports, so that a second start on the same folder brings the
// same cluster back on the same address. When the API server answers /readyz it writes
// kubeconfigs and prints one JSON line starting with {"ready":true ...} on stdout. SIGTERM or
// SIGINT stops the API server gracefully, then etcd. A small HTTP endpoint on 127.0.0.1 lets
// tests compact etcd (POST /compact) so that old resourceVersions answer 410 Gone.
//
// Once the API server is ready, kube-controller-manager runs beside it (this same binary,
// re-executed as `controlplane controller-manager ...`, so that the two components keep their
// process-wide state apart) with the controllers that --controllers names: namespaces really go
// away after a delete, owners' dependents are collected, and Deployments make ReplicaSets and
// Pods for admission to judge. Nothing schedules or runs those Pods, unless a node is given:
//
// With --advertise-address (the node's address; the program then runs inside the node's network
// namespace, started there by harness/node.ts), the API server listens on every address of that
// namespace, the kubernetes Service's endpoints are that address, Pods get ServiceAccount tokens
// (--service-account-admission), kube-scheduler runs beside it (--scheduler, this binary again as
// `controlplane scheduler ...`), and --unix-socket offers the API server on a unix socket, which
// is how processes outside the namespace reach it.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

// defaultControllers are the kube-controller-manager controllers the tests rely on. Not the
// serviceaccount controller: a default ServiceAccount in each of the tests' thousands of
// namespaces slowed the suite by a third, and with the ServiceAccount admission plugin off no Pod
// needs one.
const defaultControllers = "namespace-controller,garbage-collector-controller,deployment-controller,replicaset-controller," +
	"serviceaccount-token-controller,validatingadmissionpolicy-status-controller," +
	"clusterrole-aggregation-controller" // fills edit, admin and view: tenants' usual roles

// state is what must survive a restart on the same data folder.
type state struct {
	EtcdClientPort int               `json:"etcdClientPort"`
	EtcdPeerPort   int               `json:"etcdPeerPort"`
	APIServerPort  int               `json:"apiServerPort"`
	ControlPort    int               `json:"controlPort"`
	AdminToken     string            `json:"adminToken"`
	UserTokens     map[string]string `json:"userTokens"`
}

// user is an extra token user given as NAME=GROUP1,GROUP2.
type user struct {
	name   string
	groups []string
}

type userFlags []user

func (u *userFlags) String() string { return fmt.Sprint(*u) }

func (u *userFlags) Set(v string) error {
	name, groups, _ := strings.Cut(v, "=")
	if name == "" {
		return fmt.Errorf("--user %q: want NAME or NAME=GROUP1,GROUP2", v)
	}
	var gs []string
	for _, g := range strings.Split(groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			gs = append(gs, g)
		}
	}
	*u = append(*u, user{name: name, groups: gs})
	return nil
}

type stringFlags []string

func (s *stringFlags) String() string     { return strings.Join(*s, " ") }
func (s *stringFlags) Set(v string) error { *s = append(*s, v); return nil }

const adminUser = "admin"

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "controller-manager" || os.Args[1] == "scheduler") {
		cmd := kcm.NewControllerManagerCommand()
		if os.Args[1] == "scheduler" {
			cmd = scheduler.NewSchedulerCommand()
		}
		cmd.SetArgs(os.Args[2:])
		if err := cmd.Execute(); err != nil {
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		dataDir         string
		users           userFlags
		apiserverArgs   stringFlags
		readyTimeout    time.Duration
		shutdownTimeout time.Duration
		exitWithParent  bool
		controllers     string
		advertise       string
		saAdmission     bool
		runScheduler    bool
		unixSocket      string
		securePort      int
	)
	flag.StringVar(&dataDir, "data-dir", "", "folder for etcd data, certificates, tokens and kubeconfigs (required; reused on restart)")
	flag.Var(&users, "user", "extra token user NAME=GROUP1,GROUP2 (repeatable); a kubeconfig is written for each")
	flag.Var(&apiserverArgs, "apiserver-arg", "extra kube-apiserver flag such as --watch-cache=false (repeatable)")
	flag.DurationVar(&readyTimeout, "ready-timeout", 3*time.Minute, "how long to wait for the API server to become ready")
	flag.DurationVar(&shutdownTimeout, "shutdown-timeout", 5*time.Second, "after SIGTERM, how long the API server may take to stop before etcd is closed anyway")
	flag.BoolVar(&exitWithParent, "exit-with-parent", false, "stop when the process that started this one dies")
	flag.StringVar(&controllers, "controllers", defaultControllers, "kube-controller-manager controllers to run once the API server is ready; empty runs no controller-manager")
	flag.StringVar(&advertise, "advertise-address", "127.0.0.1", "the API server's address for Pods and nodes; another than 127.0.0.1 listens on every address and keeps the kubernetes Service's endpoints")
	flag.BoolVar(&saAdmission, "service-account-admission", false, "give Pods ServiceAccount tokens (the ServiceAccount admission plugin)")
	flag.BoolVar(&runScheduler, "scheduler", false, "run kube-scheduler once the API server is ready")
	flag.StringVar(&unixSocket, "unix-socket", "", "also offer the API server on this unix socket (a plain byte relay to its port)")
	flag.IntVar(&securePort, "secure-port", 0, "the API server's port (a free one when 0), e.g. kubeadm's 6443 inside a node's namespace")
	flag.Parse()
	if dataDir == "" {
		return errors.New("--data-dir is required")
	}
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	st, err := loadState(dataDir, users)
	if err != nil {
		return err
	}
	if securePort != 0 {
		st.APIServerPort = securePort
	}
	if err := writeTokenFile(dataDir, st, users); err != nil {
		return err
	}
	saKey, err := ensureServiceAccountKey(dataDir)
	if err != nil {
		return err
	}

	etcd, err := startEtcd(dataDir, st)
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer func() {
		etcd.Close()
		<-etcd.Server.StopNotify()
	}()

	stopControl, err := serveControl(st.ControlPort, etcd)
	if err != nil {
		return fmt.Errorf("control endpoint on 127.0.0.1:%d: %w", st.ControlPort, err)
	}
	defer stopControl()

	if exitWithParent {
		watchParent()
	}

	certDir := filepath.Join(dataDir, "certs")
	bind := "127.0.0.1"
	if advertise != bind {
		bind = "0.0.0.0" // every address of the node's network namespace, and none outside it
	}
	args := []string{
		"--etcd-servers=" + fmt.Sprintf("http://127.0.0.1:%d", st.EtcdClientPort),
		"--bind-address=" + bind,
		"--advertise-address=" + advertise,
		fmt.Sprintf("--secure-port=%d", st.APIServerPort),
		"--cert-dir=" + certDir,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + saKey,
		"--service-account-signing-key-file=" + saKey,
		"--token-auth-file=" + filepath.Join(dataDir, "tokens.csv"),
		"--authorization-mode=Node,RBAC",
		"--profiling=false",
	}
	if !saAdmission {
		args = append(args, "--disable-admission-plugins=ServiceAccount")
	}
	if advertise == "127.0.0.1" {
		// No Pod runs: the kubernetes Service needs no endpoints (and 127.0.0.1 may not be one).
		args = append(args, "--endpoint-reconciler-type=none")
	} else {
		// The kubelet by its address: its hostname would be looked up in the machine's DNS.
		args = append(args, "--kubelet-preferred-address-types=InternalIP")
	}
	args = append(args, apiserverArgs...)

	// The API server's own handler (installed by NewAPIServerCommand) starts its graceful stop; this
	// one bounds it: with clients still connected, Run may not return for a long time, and what
	// must survive a stop is etcd's data, which is closed cleanly either way.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(args)
	done := make(chan error, 1)
	go func() { done <- cmd.Execute() }()

	// The address the serving certificate names (it names 127.0.0.1 only when bound there).
	server := fmt.Sprintf("https://%s:%d", advertise, st.APIServerPort)
	readyCtx, cancelReady := context.WithTimeout(context.Background(), readyTimeout)
	defer cancelReady()
	ready := make(chan error, 1)
	go func() { ready <- waitReady(readyCtx, server, st.AdminToken) }()

	select {
	case err := <-done:
		if err == nil {
			err = errors.New("kube-apiserver stopped before it was ready")
		}
		return fmt.Errorf("kube-apiserver: %w", err)
	case err := <-etcd.Err():
		return fmt.Errorf("etcd: %w", err)
	case <-signals:
		return errors.New("stopped by a signal before the API server was ready")
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("kube-apiserver not ready after %s: %w", readyTimeout, err)
		}
	}

	ca, err := servingCA(certDir)
	if err != nil {
		return err
	}
	kubeconfigs := map[string]string{}
	admin := filepath.Join(dataDir, "admin.kubeconfig")
	if err := writeKubeconfig(admin, server, ca, adminUser, st.AdminToken); err != nil {
		return err
	}
	for _, u := range users {
		path := filepath.Join(dataDir, "users", fileSafe(u.name)+".kubeconfig")
		if err := writeKubeconfig(path, server, ca, u.name, st.UserTokens[u.name]); err != nil {
			return err
		}
		kubeconfigs[u.name] = path
	}
	var kcmExited <-chan error // nil, and so never ready, without a controller-manager
	if controllers != "" {
		exited, stopKCM, err := startControllerManager(dataDir, admin, saKey, filepath.Join(certDir, "apiserver.crt"), controllers)
		if err != nil {
			return fmt.Errorf("kube-controller-manager: %w", err)
		}
		kcmExited = exited
		defer stopKCM(shutdownTimeout)
	}
	var schedulerExited <-chan error
	if runScheduler {
		exited, stop, err := startComponent(dataDir, "scheduler", "--kubeconfig="+admin, "--leader-elect=false", "--secure-port=0", "--profiling=false")
		if err != nil {
			return fmt.Errorf("kube-scheduler: %w", err)
		}
		schedulerExited = exited
		defer stop(shutdownTimeout)
	}
	if unixSocket != "" {
		stop, err := relayUnixSocket(unixSocket, fmt.Sprintf("127.0.0.1:%d", st.APIServerPort))
		if err != nil {
			return fmt.Errorf("--unix-socket: %w", err)
		}
		defer stop()
	}
	line, _ := json.Marshal(map[string]any{
		"ready":      true,
		"pid":        os.Getpid(),
		"server":     server,
		"kubeconfig": admin,
		"users":      kubeconfigs,
		"etcd":       fmt.Sprintf("http://127.0.0.1:%d", st.EtcdClientPort),
		"control":    fmt.Sprintf("http://127.0.0.1:%d", st.ControlPort),
		"dataDir":    dataDir,
	})
	fmt.Println(string(line))

	select {
	case err := <-done:
		return err
	case err := <-etcd.Err():
		return fmt.Errorf("etcd: %w", err)
	case err := <-kcmExited:
		return fmt.Errorf("kube-controller-manager exited (%v); its log: %s", err, filepath.Join(dataDir, "controller-manager.log"))
	case err := <-schedulerExited:
		return fmt.Errorf("kube-scheduler exited (%v); its log: %s", err, filepath.Join(dataDir, "scheduler.log"))
	case <-signals:
		select {
		case err := <-done:
			return err
		case <-time.After(shutdownTimeout):
			// Its etcd clients are still connected, so a graceful etcd close would wait for them
			// too: stop etcd's raft loop and backend (committed data is kept) and leave.
			fmt.Fprintf(os.Stderr, "controlplane: kube-apiserver still stopping after %s; stopping etcd and exiting\n", shutdownTimeout)
			etcd.Server.HardStop()
			os.Exit(0)
			return nil
		}
	}
}

// startControllerManager runs kube-controller-manager, signing ServiceAccount tokens with the API
// server's key.
func startControllerManager(dataDir, kubeconfig, saKey, rootCA, controllers string) (<-chan error, func(time.Duration), error) {
	return startComponent(dataDir, "controller-manager",
		"--kubeconfig="+kubeconfig,
		"--controllers="+controllers,
		"--service-account-private-key-file="+saKey,
		"--root-ca-file="+rootCA,
		"--leader-elect=false",
		"--secure-port=0",
		// Each controller as its own ServiceAccount with the bootstrap RBAC, as in a real cluster, so
		// that admission sees system:serviceaccount:kube-system:namespace-controller, not an admin.
		"--use-service-account-credentials=true",
		"--profiling=false",
		// Finish deleting namespaces and collecting dependents promptly in tests.
		"--concurrent-namespace-syncs=5",
		"--concurrent-gc-syncs=20",
	)
}

// startComponent runs this binary again as `controlplane NAME args...` (kube-controller-manager or
// kube-scheduler), logging to NAME.log in the data folder. It returns a channel that reports its
// exit, and a function that stops it (SIGTERM, then SIGKILL after the timeout); it also stops when
// this process dies.
func startComponent(dataDir, name string, args ...string) (<-chan error, func(time.Duration), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(dataDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(self, append([]string{name}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, nil, err
	}
	exited, report := make(chan struct{}), make(chan error, 1)
	go func() {
		report <- cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	return report, func(timeout time.Duration) {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(timeout):
			_ = cmd.Process.Kill()
			<-exited
		}
	}, nil
}

// relayUnixSocket offers the TCP address at a unix socket: each connection is copied both ways.
// Processes outside the node's network namespace reach the API server through it.
func relayUnixSocket(path, target string) (func(), error) {
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				upstream, err := net.DialTimeout("tcp", target, 5*time.Second)
				if err != nil {
					return
				}
				defer upstream.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(upstream, conn); done <- struct{}{} }()
				go func() { _, _ = io.Copy(conn, upstream); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return func() { _ = ln.Close() }, nil
}

func loadState(dataDir string, users []user) (*state, error) {
	path := filepath.Join(dataDir, "state.json")
	st := &state{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("%s: %w (delete the data folder to start afresh)", path, err)
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	} else {
		ports, err := freePorts(4)
		if err != nil {
			return nil, err
		}
		st.EtcdClientPort, st.EtcdPeerPort, st.APIServerPort, st.ControlPort = ports[0], ports[1], ports[2], ports[3]
		st.AdminToken = randomToken()
	}
	if st.UserTokens == nil {
		st.UserTokens = map[string]string{}
	}
	for _, u := range users {
		if u.name == adminUser {
			return nil, fmt.Errorf("--user %q: that name is the admin's", u.name)
		}
		if st.UserTokens[u.name] == "" {
			st.UserTokens[u.name] = randomToken()
		}
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	return st, os.WriteFile(path, b, 0o600)
}

// writeTokenFile lists the admin (system:masters) and every extra user given now or before.
func writeTokenFile(dataDir string, st *state, users []user) error {
	groups := map[string][]string{}
	for _, u := range users {
		groups[u.name] = u.groups
	}
	lines := []string{fmt.Sprintf("%s,%s,%s,\"system:masters\"", st.AdminToken, adminUser, adminUser)}
	names := make([]string, 0, len(st.UserTokens))
	for name := range st.UserTokens {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		line := fmt.Sprintf("%s,%s,%s", st.UserTokens[name], name, name)
		if gs := groups[name]; len(gs) > 0 {
			line += fmt.Sprintf(",\"%s\"", strings.Join(gs, ","))
		}
		lines = append(lines, line)
	}
	return os.WriteFile(filepath.Join(dataDir, "tokens.csv"), []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

func ensureServiceAccountKey(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "sa.key")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

func startEtcd(dataDir string, st *state) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = "controlplane"
	cfg.Dir = filepath.Join(dataDir, "etcd")
	client := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", st.EtcdClientPort)}
	peer := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", st.EtcdPeerPort)}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.UnsafeNoFsync = true // test data: speed over durability across power loss
	cfg.LogLevel = "error"
	cfg.QuotaBackendBytes = 4 << 30
	// As kubeadm configures etcd: progress notifications let the API server's watch cache send
	// bookmarks on quiet resources too (without them a watch on namespaces can stay silent).
	cfg.WatchProgressNotifyInterval = 5 * time.Second
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, errors.New("not ready after 60s")
	}
}

// serveControl offers POST /compact: compact etcd at its current revision, physically, so that
// watches and lists from any earlier resourceVersion are refused with 410 Gone.
func serveControl(port int, e *embed.Etcd) (func(), error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	kv := v3client.New(e.Server)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /compact", func(w http.ResponseWriter, r *http.Request) {
		resp, err := kv.Get(r.Context(), "compact-revision-probe")
		if err == nil {
			_, err = kv.Compact(r.Context(), resp.Header.Revision, clientv3.WithCompactPhysical())
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]int64{"revision": resp.Header.Revision})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close(); _ = kv.Close() }, nil
}

// watchParent stops this process (as SIGTERM would) when the process that started it dies, so
// that a test runner killed with SIGKILL leaves no control plane behind.
func watchParent() {
	parent := os.Getppid()
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
	go func() {
		for range time.Tick(time.Second) {
			if os.Getppid() != parent {
				_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
				return
			}
		}
	}()
}

func waitReady(ctx context.Context, server, token string) error {
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // loopback, own cert
	}
	var last error = errors.New("no answer yet")
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("/readyz answered %d", resp.StatusCode)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return last
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// servingCA returns the self-signed apiserver.crt, which holds the serving certificate followed
// by the CA that signed it: together they verify the server.
func servingCA(certDir string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(certDir, "apiserver.crt"))
	if err != nil {
		return nil, fmt.Errorf("reading the API server's certificate: %w", err)
	}
	return b, nil
}

func writeKubeconfig(path, server string, ca []byte, userName, token string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %q
  user:
    token: %s
contexts:
- name: local
  context:
    cluster: local
    user: %q
current-context: local
`, server, base64.StdEncoding.EncodeToString(ca), userName, token, userName)
	return os.WriteFile(path, []byte(cfg), 0o600)
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileSafe(name string) string { return unsafeChars.ReplaceAllString(name, "_") }

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func init() {
	// A parent that goes away closes our stdout and stderr; the API server must still shut down
	// gracefully rather than die of SIGPIPE on its next log line.
	signal.Ignore(syscall.SIGPIPE)
}
