// Command stepwise-controlplane is the Kubernetes control plane of Stepwise's tests and of
// `./stepwise up`: kube-apiserver with etcd embedded in the same process, and
// kube-controller-manager, both built from k8s.io/kubernetes at the version pinned in go.mod.
//
//	stepwise-controlplane apiserver --etcd-dir DIR --etcd-port N --etcd-peer-port M [--etcd-no-fsync] -- <kube-apiserver flags>
//	stepwise-controlplane controller-manager <kube-controller-manager flags>
//
// The two run as separate processes so that either can be stopped and started on its own (an API
// server restart is one of the faults the tests inject).
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "apiserver":
		os.Exit(runAPIServer(os.Args[2:]))
	case "controller-manager":
		cmd := controllermanager.NewControllerManagerCommand()
		cmd.SetArgs(os.Args[2:])
		os.Exit(cli.Run(cmd))
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: stepwise-controlplane apiserver --etcd-dir DIR --etcd-port N --etcd-peer-port M [--etcd-no-fsync] -- <kube-apiserver flags>")
	fmt.Fprintln(os.Stderr, "       stepwise-controlplane controller-manager <kube-controller-manager flags>")
	os.Exit(2)
}

// runAPIServer starts etcd on 127.0.0.1, waits until it serves, then runs kube-apiserver against
// it in the foreground; etcd is closed after the API server returns (SIGTERM/SIGINT stop both).
func runAPIServer(args []string) int {
	flags := flag.NewFlagSet("apiserver", flag.ExitOnError)
	dir := flags.String("etcd-dir", "", "etcd data directory (kept across restarts)")
	port := flags.Int("etcd-port", 0, "etcd client port on 127.0.0.1")
	peerPort := flags.Int("etcd-peer-port", 0, "etcd peer port on 127.0.0.1 (unused by a single member, but etcd binds one)")
	noFsync := flags.Bool("etcd-no-fsync", false, "skip fsync in etcd (throwaway test data only)")
	_ = flags.Parse(args)
	if *dir == "" || *port == 0 || *peerPort == 0 {
		fmt.Fprintln(os.Stderr, "error: apiserver needs --etcd-dir, --etcd-port and --etcd-peer-port")
		return 2
	}
	etcd, err := startEtcd(*dir, *port, *peerPort, *noFsync)
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: etcd did not start in %s on port %d: %v\n", *dir, *port, err)
		return 1
	}
	defer etcd.Close()

	cmd := apiserver.NewAPIServerCommand()
	cmd.SetArgs(append([]string{fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", *port)}, flags.Args()...))
	return cli.Run(cmd)
}

func startEtcd(dir string, port, peerPort int, noFsync bool) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = "stepwise"
	cfg.Dir = dir
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = noFsync
	client := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", port)}
	peer := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", peerPort)}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
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
		return nil, fmt.Errorf("not ready after 60 s")
	}
}
