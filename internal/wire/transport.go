package wire

import (
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/envvar"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// TransportRequestToProto converts a domain request for the git transport
// to its message.
func TransportRequestToProto(r *broker.TransportRequest) *codecommitdv1.OpenTransportRequest {
	m := &codecommitdv1.OpenTransportRequest{Sign: SignRequestToProto(&r.SignRequest), GitEnv: r.GitEnv}
	for _, e := range r.GitConfig {
		m.GitConfig = append(m.GitConfig, &codecommitdv1.GitConfigEntry{Key: e.Key, Value: e.Value, NoValue: e.NoValue})
	}
	return m
}

// TransportRequestFromProto converts a message to a domain request. Of
// the git environment it keeps only the variables envvar declares as
// git's (envvar.GitHTTP).
func TransportRequestFromProto(m *codecommitdv1.OpenTransportRequest) *broker.TransportRequest {
	sign := m.GetSign()
	if sign == nil {
		sign = &codecommitdv1.SignURLRequest{}
	}
	r := &broker.TransportRequest{SignRequest: *SignRequestFromProto(sign), GitEnv: map[string]string{}}
	for k, v := range m.GetGitEnv() {
		if d, ok := envvar.Lookup(k); ok && d.ReadBy(envvar.GitHTTP) {
			r.GitEnv[k] = v
		}
	}
	for _, e := range m.GetGitConfig() {
		r.GitConfig = append(r.GitConfig, broker.ConfigEntry{Key: e.GetKey(), Value: e.GetValue(), NoValue: e.GetNoValue()})
	}
	return r
}

// GrantToProto converts a capability to the first event of its stream.
func GrantToProto(c *broker.Capability) *codecommitdv1.OpenTransportResponse {
	return &codecommitdv1.OpenTransportResponse{Grant: &codecommitdv1.TransportGrant{
		Url: c.URL, Header: c.Header, Profile: c.Profile, Region: c.Region, Warnings: c.Warnings,
	}}
}

// GrantFromProto converts the first event of a stream to a capability
// (without its Ended and Release, which are the stream's).
func GrantFromProto(m *codecommitdv1.TransportGrant) *broker.Capability {
	return &broker.Capability{URL: m.GetUrl(), Header: m.GetHeader(), Profile: m.GetProfile(), Region: m.GetRegion(), Warnings: m.GetWarnings()}
}

func transportStatusToProto(s *broker.TransportStatus) *codecommitdv1.TransportStatus {
	if s == nil {
		return nil
	}
	m := &codecommitdv1.TransportStatus{Url: s.URL, Grants: int64(s.Grants)}
	for _, c := range s.Conns {
		m.Connections = append(m.Connections, &codecommitdv1.TransportConnection{
			Host: c.Host, Proxy: c.Proxy, Protocol: c.Protocol, OpenedAt: ts(c.Opened), LastUsed: ts(c.LastUsed),
			InFlight: int64(c.InFlight), Requests: c.Requests,
		})
	}
	return m
}

func transportStatusFromProto(m *codecommitdv1.TransportStatus) *broker.TransportStatus {
	if m == nil {
		return nil
	}
	s := &broker.TransportStatus{URL: m.GetUrl(), Grants: int(m.GetGrants())}
	for _, c := range m.GetConnections() {
		s.Conns = append(s.Conns, broker.TransportConn{
			Host: c.GetHost(), Proxy: c.GetProxy(), Protocol: c.GetProtocol(), Opened: tm(c.GetOpenedAt()), LastUsed: tm(c.GetLastUsed()),
			InFlight: int(c.GetInFlight()), Requests: c.GetRequests(),
		})
	}
	return s
}
