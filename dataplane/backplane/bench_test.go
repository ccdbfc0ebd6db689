package backplane

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kwps/kwps/dataplane/backplane/redistest"
)

// payloadSizes are the message sizes of the Send benchmarks: a small command, a typical message,
// and a large one.
var payloadSizes = []int{64, 1 << 10, 16 << 10}

// BenchmarkMemorySend measures Send from one process to another on a Memory network, until the
// receiver's handler has the message.
func BenchmarkMemorySend(b *testing.B) {
	benchSend(b, func(int) cluster { return memoryCluster{NewNetwork()} })
}

// BenchmarkRedisSend measures Send from one process to another through Redis, until the receiver's
// handler has the message.
func BenchmarkRedisSend(b *testing.B) {
	srv := redistest.Start(b)
	benchSend(b, func(run int) cluster {
		return redisCluster{url: srv.URL(), prefix: "bench" + strconv.Itoa(run) + ":"}
	})
}

// sendWindow bounds the messages in flight: Send drops rather than waits, so the benchmark paces
// itself to measure delivery, not dropping.
const sendWindow = 512

func benchSend(b *testing.B, newCluster func(run int) cluster) {
	var runs atomic.Int64
	for _, size := range payloadSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			c := newCluster(int(runs.Add(1))) // fresh per run: the body runs once per b.N
			sender := c.join(b, "sender", IngressOptions{})
			recv := c.join(b, "recv", IngressOptions{Queue: 2 * sendWindow})
			var got atomic.Int64
			recv.SetHandler(func(_ string, p []byte, _ func([]byte)) {
				if len(p) == size {
					got.Add(1)
				}
			})
			recv.Subscribe("bench")
			waitReceivers(b, sender, "bench", 1)
			payload := make([]byte, size)
			dropped := func() int64 { return int64(sender.Stats().DroppedOut + recv.Stats().DroppedIn) }

			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := range b.N {
				for int64(i)-got.Load()-dropped() > sendWindow {
					time.Sleep(10 * time.Microsecond)
				}
				sender.Send("bench", payload)
			}
			deadline := time.Now().Add(30 * time.Second)
			for got.Load()+dropped() < int64(b.N) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Microsecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(dropped())/float64(b.N), "drops/op")
		})
	}
}
