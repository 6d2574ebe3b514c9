// A small Nostr relay for Infernet's tests and local networks: khatru over an in-memory event store, on the
// address given by -listen. It verifies every event's id and signature (khatru does) and keeps what it accepts
// until it exits. It prints "listening <addr>" once the socket is bound, so a test knows when to connect.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/fiatjaf/eventstore/slicestore"
	"github.com/fiatjaf/khatru"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "host:port to listen on (port 0: any free port)")
	// A test that dies without stopping its relay must not leave it running: with -stdin-lifeline the relay exits
	// when its standard input closes, which happens when the parent process goes away.
	lifeline := flag.Bool("stdin-lifeline", false, "exit when standard input reaches end of file")
	flag.Parse()

	db := &slicestore.SliceStore{}
	if err := db.Init(); err != nil {
		fmt.Fprintln(os.Stderr, "relay: cannot open the event store:", err)
		os.Exit(1)
	}
	relay := khatru.NewRelay()
	relay.Info.Name = "infernet-test-relay"
	relay.Info.Description = "Nostr relay for Infernet tests (in memory)"
	relay.StoreEvent = append(relay.StoreEvent, db.SaveEvent)
	relay.QueryEvents = append(relay.QueryEvents, db.QueryEvents)
	relay.DeleteEvent = append(relay.DeleteEvent, db.DeleteEvent)
	relay.CountEvents = append(relay.CountEvents, db.CountEvents)

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "relay: cannot listen:", err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", listener.Addr().String())
	server := &http.Server{Handler: relay}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	if *lifeline {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop <- syscall.SIGTERM
		}()
	}
	go func() {
		<-stop
		_ = server.Shutdown(context.Background())
	}()
	if err := server.Serve(listener); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(1)
	}
}
