// Command amqp-publish is a CI worker that is not written in Python: it cuts a log file into
// chunks and publishes them to logstore's chunks exchange as the README's AMQP contract says
// (persistent messages; headers job_id string, clock int64, final bool on the last chunk), with
// publisher confirms and the mandatory flag. It exits 0 only once the broker has confirmed every
// chunk and returned none as unroutable; 1 otherwise, 2 on bad usage.
//
//	amqp-publish -url amqp://guest:guest@127.0.0.1:5672/ -exchange logstore.chunks -job ID -chunk-bytes 2048 FILE
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func main() {
	url := flag.String("url", "amqp://guest:guest@127.0.0.1:5672/", "the broker")
	exchange := flag.String("exchange", "logstore.chunks", "the chunks exchange")
	job := flag.String("job", "", "the job id")
	chunkBytes := flag.Int("chunk-bytes", 4096, "bytes per chunk")
	timeout := flag.Duration("timeout", 2*time.Minute, "give up after this long")
	flag.Parse()
	if *job == "" || *chunkBytes < 1 || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: amqp-publish -job ID [-url URL] [-exchange NAME] [-chunk-bytes N] FILE")
		os.Exit(2)
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fail("reading the log", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	confirmed, err := publish(ctx, *url, *exchange, *job, split(data, *chunkBytes))
	if err != nil {
		fail("publishing", err)
	}
	fmt.Printf("%d chunks confirmed\n", confirmed)
}

// split cuts data into pieces of size bytes; an empty log is one empty chunk.
func split(data []byte, size int) [][]byte {
	chunks := [][]byte{}
	for start := 0; start < len(data); start += size {
		end := start + size
		if end > len(data) {
			end = len(data)
		}
		chunks = append(chunks, data[start:end])
	}
	if len(chunks) == 0 {
		chunks = append(chunks, []byte{})
	}
	return chunks
}

func publish(ctx context.Context, url, exchange, job string, chunks [][]byte) (int, error) {
	conn, err := amqp.Dial(url)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	channel, err := conn.Channel()
	if err != nil {
		return 0, err
	}
	if err := channel.Confirm(false); err != nil {
		return 0, err
	}
	closed := channel.NotifyClose(make(chan *amqp.Error, 1))
	// buffered for every chunk: the client blocks its reader on a full return channel
	returned := channel.NotifyReturn(make(chan amqp.Return, len(chunks)))
	confirms := make([]*amqp.DeferredConfirmation, 0, len(chunks))
	for clock, chunk := range chunks {
		confirm, err := channel.PublishWithDeferredConfirmWithContext(ctx, exchange, "", true, false, amqp.Publishing{
			DeliveryMode: amqp.Persistent,
			Headers:      amqp.Table{"job_id": job, "clock": int64(clock), "final": clock == len(chunks)-1},
			Body:         chunk,
		})
		if err != nil {
			return 0, fmt.Errorf("clock %d: %w", clock, err)
		}
		confirms = append(confirms, confirm)
	}
	for clock, confirm := range confirms {
		acked, err := confirm.WaitContext(ctx)
		if err != nil {
			return 0, fmt.Errorf("clock %d: %w", clock, err)
		}
		if !acked {
			select {
			case reason := <-closed: // e.g. 404: no such exchange
				return 0, fmt.Errorf("clock %d: the broker closed the channel: %v", clock, reason)
			default:
				return 0, fmt.Errorf("clock %d: the broker refused it (nack)", clock)
			}
		}
	}
	// the broker sends a message's return before its confirm, so every return is in by now
	if len(returned) > 0 {
		back := <-returned
		return 0, fmt.Errorf("%d chunks unroutable (no queue bound to %s), the first clock %v: %s",
			len(returned)+1, exchange, back.Headers["clock"], back.ReplyText)
	}
	return len(chunks), nil
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "amqp-publish: %s: %v\n", what, err)
	os.Exit(1)
}
