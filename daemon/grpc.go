package daemon

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/wire"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// grpcAdapter serves a broker.Broker as codecommitd.v1.BrokerService, and
// its git transport, when it has one (t).
type grpcAdapter struct {
	codecommitdv1.UnimplementedBrokerServiceServer
	b broker.Broker
	t broker.Transporter
}

func (a *grpcAdapter) SignURL(ctx context.Context, m *codecommitdv1.SignURLRequest) (*codecommitdv1.SignURLResponse, error) {
	s, err := a.b.SignURL(ctx, wire.SignRequestFromProto(m))
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return wire.SignedURLToProto(s), nil
}

func (a *grpcAdapter) GetStatus(ctx context.Context, _ *codecommitdv1.GetStatusRequest) (*codecommitdv1.GetStatusResponse, error) {
	s, err := a.b.Status(ctx)
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return wire.StatusToProto(s), nil
}

func (a *grpcAdapter) Forget(ctx context.Context, m *codecommitdv1.ForgetRequest) (*codecommitdv1.ForgetResponse, error) {
	n, err := a.b.Forget(ctx, m.GetProfile(), m.GetAll())
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return &codecommitdv1.ForgetResponse{Forgotten: int64(n)}, nil
}

func (a *grpcAdapter) SSOSessionChanged(ctx context.Context, m *codecommitdv1.SSOSessionChangedRequest) (*codecommitdv1.SSOSessionChangedResponse, error) {
	if err := a.b.SSOSessionChanged(ctx, broker.SSOSession{Name: clean.Line(m.GetName(), 256), StartURL: clean.Line(m.GetStartUrl(), 1024)}); err != nil {
		return nil, wire.ToStatus(err)
	}
	return &codecommitdv1.SSOSessionChangedResponse{}, nil
}

// OpenTransport resolves and grants as the broker's OpenTransport does
// (a failure is the RPC's error, before any event), sends the grant, and
// keeps the stream open until the client ends it or the server stops: the
// capability is revoked then.
func (a *grpcAdapter) OpenTransport(m *codecommitdv1.OpenTransportRequest, stream grpc.ServerStreamingServer[codecommitdv1.OpenTransportResponse]) error {
	if a.t == nil {
		return status.Error(codes.Unimplemented, "this codecommitd runs no git transport")
	}
	ctx := stream.Context()
	c, err := a.t.OpenTransport(ctx, wire.TransportRequestFromProto(m))
	if err != nil {
		return wire.ToStatus(err)
	}
	if c.Release != nil {
		defer c.Release()
	}
	if err := stream.Send(wire.GrantToProto(c)); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// Limits on what one client may cost the daemon. Requests and answers are
// a few hundred bytes; a git helper holds a connection for one or two
// requests. No client, however many connections or streams it holds, can
// keep a git helper from being served at once.
const (
	// IdleTimeout closes a connection with no request under way for this
	// long, including one that sent the HTTP/2 preface and nothing else.
	IdleTimeout = 30 * time.Second
	// HandshakeTimeout bounds the time from accepting a connection to the
	// end of the HTTP/2 handshake.
	HandshakeTimeout = 5 * time.Second
	// MaxConnections bounds concurrent connections. When all are open, a
	// new one closes the connection idle longest (for at least a second).
	// While every connection has a request under way, as many more are
	// accepted and answered (the handshake, health checks: the client
	// sees a busy daemon, not a stopped one); the first request on one
	// waits for a slot. Beyond those, connections wait in the kernel's
	// queue.
	MaxConnections = 256
	// MaxConnectionsPerProcess bounds the connections on which one
	// process has a request or stream under way; a request that would
	// make it more is refused (ResourceExhausted, saying why). Its idle
	// connections are closed for new ones like anybody's.
	MaxConnectionsPerProcess = MaxConnections / 2
	// MaxStreams bounds concurrent requests on one connection.
	MaxStreams = 64
	// MaxLongStreams bounds the streams (a health Watch, reflection) open
	// at once across all connections; more are refused. A connection with
	// a stream open is not idle, so these are capped apart.
	MaxLongStreams = 32
	// MaxConnectionAge is when the daemon asks a client to move to a new
	// connection (GOAWAY: requests under way go on, new ones reconnect);
	// MaxConnectionAgeGrace is how long after that it closes the old one,
	// ending its streams (the limitListener does). The grace outlasts any
	// request a helper waits for (wire.SignTimeout) by a minute, so only
	// long-lived streams are cut; but a git transport stream (OpenTransport), which
	// lasts as long as its git operation (a push may take an hour), is
	// never cut for its age: its connection is closed when it ends. Nor is
	// one capped with the streams of MaxLongStreams: it counts as a
	// request under way on its connection, so its connection is neither
	// idle nor evicted.
	MaxConnectionAge      = time.Minute
	MaxConnectionAgeGrace = wire.SignTimeout + time.Minute
)

// newGRPCServer returns the daemon's gRPC server for b (the health
// service, reflection, the audit log) and the git transport t (nil: none),
// admitting only connections that pass the peer check creds, with more run
// after its own interceptors.
func newGRPCServer(b broker.Broker, t broker.Transporter, log *slog.Logger, creds peerCreds, more ...grpc.UnaryServerInterceptor) *grpc.Server {
	srv := grpc.NewServer(
		grpc.Creds(creds),
		grpc.InTapHandle(refuseStrangers(log)),
		grpc.ChainUnaryInterceptor(append([]grpc.UnaryServerInterceptor{underWay, audit(log)}, more...)...),
		grpc.ChainStreamInterceptor(admitStreams(make(chan struct{}, MaxLongStreams)), auditTransport(log)),
		grpc.MaxRecvMsgSize(wire.MaxRequest),
		grpc.MaxConcurrentStreams(MaxStreams),
		grpc.ConnectionTimeout(HandshakeTimeout),
		// No MaxConnectionAgeGrace: the limitListener closes old
		// connections, but those with a git transport stream.
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: IdleTimeout, MaxConnectionAge: MaxConnectionAge}),
	)
	codecommitdv1.RegisterBrokerServiceServer(srv, &grpcAdapter{b: b, t: t})
	h := health.NewServer()
	h.SetServingStatus(codecommitdv1.BrokerService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, h)
	reflection.Register(srv)
	return srv
}

// audit writes the audit log of every admitted request: who asked (pid,
// uid, executable), for which profile and repository, and how it went. A
// client that gave up is not a failure of the daemon's. Health checks,
// which the helpers send every second while a request waits, are not
// logged.
func audit(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		a := admissionFrom(ctx)
		if a.refused != nil { // the tap refuses first; this is a second lock
			return nil, a.refusal()
		}
		if strings.HasPrefix(info.FullMethod, "/"+healthpb.Health_ServiceDesc.ServiceName+"/") {
			return handler(ctx, req)
		}
		attrs := []slog.Attr{slog.String("method", info.FullMethod), slog.Any("peer", a)}
		if r, ok := req.(*codecommitdv1.SignURLRequest); ok {
			attrs = append(attrs, slog.String("profile", clean.Line(r.GetProfile(), 128)), slog.String("repository", clean.Line(r.GetRepository(), 128)),
				slog.String("client", clean.Line(r.GetClient(), 128)))
		}
		start := time.Now()
		resp, err := handler(ctx, req)
		attrs = append(attrs, slog.Duration("took", time.Since(start)))
		if r, ok := resp.(*codecommitdv1.SignURLResponse); ok {
			attrs = append(attrs, slog.String("resolved_profile", r.GetProfile()), slog.String("region", r.GetRegion()))
		}
		switch code := status.Code(err); {
		case err == nil:
			log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
		case code == codes.Canceled || code == codes.DeadlineExceeded || errors.Is(ctx.Err(), context.Canceled):
			log.LogAttrs(ctx, slog.LevelInfo, "request abandoned by the client", attrs...)
		default:
			log.LogAttrs(ctx, slog.LevelWarn, "request failed", append(attrs, slog.String("code", code.String()), slog.String("error", status.Convert(err).Message()))...)
		}
		return resp, err
	}
}

// underWay counts a request as under way on its connection while it runs
// (the listener closes only connections with none), after waiting for a
// slot on a connection accepted without one (a health check does not
// wait), or refuses it when its process keeps MaxConnectionsPerProcess
// connections busy already.
func underWay(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	a := admissionFrom(ctx)
	if a.conn != nil {
		end, err := a.begin(ctx, !strings.HasPrefix(info.FullMethod, "/"+healthpb.Health_ServiceDesc.ServiceName+"/"))
		if err != nil {
			return nil, err
		}
		defer end()
	}
	return handler(ctx, req)
}

// admitStreams is the second lock for streaming RPCs. A git transport
// stream is counted as a request under way on its connection (and keeps it
// from being closed for its age), and is not capped with the others: one
// per git operation, it must never wait for a watcher to go. The others
// (reflection, health watch) are admitted only while they can take a place
// in open, which bounds how many are open at once, and counted as under
// way on their connection.
func admitStreams(open chan struct{}) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		a := admissionFrom(ss.Context())
		if a.refused != nil {
			return a.refusal()
		}
		if info.FullMethod == codecommitdv1.BrokerService_OpenTransport_FullMethodName {
			if a.conn != nil {
				end, err := a.beginTransport(ss.Context())
				if err != nil {
					return err
				}
				defer end()
			}
			return handler(srv, ss)
		}
		select {
		case open <- struct{}{}:
			defer func() { <-open }()
		default:
			return status.Errorf(codes.ResourceExhausted, "codecommitd serves at most %d streams (health Watch, reflection) at once; try again when one has closed", cap(open))
		}
		if a.conn != nil {
			end, err := a.begin(ss.Context(), true)
			if err != nil {
				return err
			}
			defer end()
		}
		return handler(srv, ss)
	}
}

// auditTransport writes the audit log of git transport streams: a
// "request" line once the grant is sent (who asked, for which profile and
// repository, how long it took), a failure as audit writes one, and a line
// when the stream ends, saying how long it lasted.
func auditTransport(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if info.FullMethod != codecommitdv1.BrokerService_OpenTransport_FullMethodName {
			return handler(srv, ss)
		}
		s := &auditedStream{ServerStream: ss, log: log, start: time.Now(),
			attrs: []slog.Attr{slog.String("method", info.FullMethod), slog.Any("peer", admissionFrom(ss.Context()))}}
		err := handler(srv, s)
		ctx := ss.Context()
		switch code := status.Code(err); {
		case s.granted:
			log.LogAttrs(ctx, slog.LevelInfo, "git transport closed", append(s.attrs, slog.Duration("lasted", time.Since(s.start)))...)
		case code == codes.Canceled || code == codes.DeadlineExceeded || errors.Is(ctx.Err(), context.Canceled):
			log.LogAttrs(ctx, slog.LevelInfo, "request abandoned by the client", append(s.attrs, slog.Duration("took", time.Since(s.start)))...)
		default:
			log.LogAttrs(ctx, slog.LevelWarn, "request failed", append(s.attrs, slog.Duration("took", time.Since(s.start)),
				slog.String("code", code.String()), slog.String("error", status.Convert(err).Message()))...)
		}
		return err
	}
}

// auditedStream notes the request of a transport stream and its grant.
type auditedStream struct {
	grpc.ServerStream
	log     *slog.Logger
	start   time.Time
	attrs   []slog.Attr
	granted bool
}

func (s *auditedStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if r, ok := m.(*codecommitdv1.OpenTransportRequest); ok && err == nil {
		s.attrs = append(s.attrs, slog.String("profile", clean.Line(r.GetSign().GetProfile(), 128)),
			slog.String("repository", clean.Line(r.GetSign().GetRepository(), 128)), slog.String("client", clean.Line(r.GetSign().GetClient(), 128)))
	}
	return err
}

func (s *auditedStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if r, ok := m.(*codecommitdv1.OpenTransportResponse); ok && err == nil && !s.granted {
		s.granted = true
		s.attrs = append(s.attrs, slog.String("resolved_profile", r.GetGrant().GetProfile()), slog.String("region", r.GetGrant().GetRegion()))
		s.log.LogAttrs(s.Context(), slog.LevelInfo, "request", append(s.attrs, slog.Duration("took", time.Since(s.start)))...)
	}
	return err
}
