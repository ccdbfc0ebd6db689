package backplane

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// RedisOptions configure NewRedis. Only URL is required; zero values take the defaults.
type RedisOptions struct {
	// URL locates Redis 7: redis://[[user]:password@]host:port[/db], or rediss:// for TLS. The
	// password never appears in logs or errors.
	URL string
	// Prefix starts every Redis channel name, so that several kwps instances can share one Redis.
	// Default "kwps:".
	Prefix string
	// ID identifies this process among those sharing the prefix: 1-128 characters of [A-Za-z0-9._-]
	// (a pod name fits). Default: random. Two live processes with one ID would ignore each other.
	ID string
	// Logger receives connection state changes (once per change, never per message). Default
	// slog.Default().
	Logger *slog.Logger

	// Ingress bounds the queue between the pub/sub read loop and the Handler.
	Ingress IngressOptions
	// OutboundWorkers publish Send's queue, a channel always on the same worker (order per
	// channel). Default 4.
	OutboundWorkers int
	// OutboundQueue is each outbound worker's capacity in messages. Default 1024.
	OutboundQueue int
	// OutboundMaxBytes bounds the payload bytes queued for publishing over all workers. Default 64 MiB.
	OutboundMaxBytes int64
	// PublishBatch is the most PUBLISH commands pipelined in one round trip. Default 64.
	PublishBatch int
	// MaxMessageBytes bounds one payload, sent or received; larger ones are dropped and counted.
	// Default 4 MiB.
	MaxMessageBytes int
	// MaxPendingRequests bounds the Requests waiting for replies at once. Default 1024.
	MaxPendingRequests int
	// PingInterval is how often the health check pings Redis; a silent pub/sub connection is
	// replaced after three intervals. Default 1s.
	PingInterval time.Duration
}

func (o RedisOptions) withDefaults() (RedisOptions, error) {
	if o.Prefix == "" {
		o.Prefix = "kwps:"
	}
	if o.ID == "" {
		o.ID = randomID()
	}
	if !validID(o.ID) {
		return o, errors.New("backplane: process ID must be 1-128 characters of [A-Za-z0-9._-]")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Ingress = o.Ingress.withDefaults()
	if o.OutboundWorkers <= 0 {
		o.OutboundWorkers = 4
	}
	if o.OutboundQueue <= 0 {
		o.OutboundQueue = 1024
	}
	if o.OutboundMaxBytes <= 0 {
		o.OutboundMaxBytes = 64 << 20
	}
	if o.PublishBatch <= 0 {
		o.PublishBatch = 64
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 4 << 20
	}
	if o.MaxPendingRequests <= 0 {
		o.MaxPendingRequests = 1024
	}
	if o.PingInterval <= 0 {
		o.PingInterval = time.Second
	}
	return o, nil
}

func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// errURL describes a bad URL without repeating it: it may hold a password.
var errURL = errors.New("backplane: invalid redis URL: want redis://[[user]:password@]host:port[/db] or rediss://")

// clientOptions turns the URL into go-redis options tuned for a backplane: fail fast instead of
// retrying (a retried PUBLISH could be delivered twice), honour contexts, and keep dials short so
// that an outage is noticed within about a second.
func clientOptions(rawURL string, ping time.Duration) (*redis.Options, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return nil, errURL
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		// go-redis names the offending part (database number, option names), never the password.
		return nil, fmt.Errorf("%w (%w)", errURL, err)
	}
	o.MaxRetries = -1
	o.ContextTimeoutEnabled = true
	o.DisableIdentity = true // CLIENT SETINFO is Redis 7.2+; skip a failing round trip per connection
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	o.DialerRetries = 1
	if o.DialTimeout == 0 {
		o.DialTimeout = max(ping, time.Second)
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 2 * max(ping, time.Second)
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = o.ReadTimeout
	}
	return o, nil
}
