package dev.savepoint.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;

/**
 * A TCP proxy on 127.0.0.1 that forwards to a real server and resets chosen connections mid-request, as a
 * flaky network or load balancer does ("Connection reset by peer"). Connections are numbered from 1 in the
 * order they are accepted; for each one {@code reset} accepts, the proxy forwards {@code afterBytes} bytes
 * from the client (or, {@link #resettingResponses}, from the server) and then aborts both sides with a TCP RST. Everything else passes through untouched.
 * Close it to stop accepting and drop every connection.
 */
public final class ResettingTcpProxy implements AutoCloseable {
  private final ServerSocket listener;
  private final InetSocketAddress upstream;
  private final IntPredicate reset;
  private final long afterBytes;
  private final boolean responses;
  private final AtomicInteger accepted = new AtomicInteger();
  private final AtomicInteger resets = new AtomicInteger();
  private final List<Socket> open = new CopyOnWriteArrayList<>();

  private ResettingTcpProxy(InetSocketAddress upstream, IntPredicate reset, long afterBytes, boolean responses)
      throws IOException {
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.upstream = upstream;
    this.reset = reset;
    this.afterBytes = afterBytes;
    this.responses = responses;
    Thread acceptor = new Thread(this::acceptLoop, "resetting-proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Proxies {@code upstream} (an {@code http://host:port} URI), resetting the connections {@code reset} picks. */
  public static ResettingTcpProxy start(URI upstream, IntPredicate reset, long afterBytes) throws IOException {
    return new ResettingTcpProxy(new InetSocketAddress(upstream.getHost(), upstream.getPort()), reset, afterBytes,
        false);
  }

  /** As {@link #start}, but the chosen connections die after {@code afterBytes} of the server's answer (downloads). */
  public static ResettingTcpProxy resettingResponses(URI upstream, IntPredicate reset, long afterBytes)
      throws IOException {
    return new ResettingTcpProxy(new InetSocketAddress(upstream.getHost(), upstream.getPort()), reset, afterBytes,
        true);
  }

  /** {@code http://127.0.0.1:<port>}: point the client here instead of at the server. */
  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + listener.getLocalPort());
  }

  /** How many connections were reset so far. */
  public int resets() {
    return resets.get();
  }

  private void acceptLoop() {
    while (!listener.isClosed()) {
      try {
        Socket client = listener.accept();
        int number = accepted.incrementAndGet();
        Socket server = new Socket(upstream.getAddress(), upstream.getPort());
        open.add(client);
        open.add(server);
        long limit = reset.test(number) ? afterBytes : Long.MAX_VALUE;
        pump(client, server, responses ? Long.MAX_VALUE : limit, "up-" + number);
        pump(server, client, responses ? limit : Long.MAX_VALUE, "down-" + number);
      } catch (IOException e) {
        // Listener closed, or the upstream refused: the client sees its connection dropped.
      }
    }
  }

  private void pump(Socket from, Socket to, long limit, String name) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[16 * 1024];
      long forwarded = 0;
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf, 0, (int) Math.min(buf.length, Math.max(1, limit - forwarded)))) > 0) {
          out.write(buf, 0, n);
          forwarded += n;
          if (forwarded >= limit) {
            resets.incrementAndGet();
            abort(from);
            abort(to);
            return;
          }
        }
      } catch (IOException e) {
        // The other direction closed or reset the connection.
      } finally {
        closeQuietly(from);
        closeQuietly(to);
      }
    }, "resetting-proxy-" + name);
    t.setDaemon(true);
    t.start();
  }

  /** Closes with SO_LINGER 0, which sends RST instead of FIN. */
  private static void abort(Socket s) {
    try {
      s.setSoLinger(true, 0);
    } catch (IOException e) {
      // Already closed.
    }
    closeQuietly(s);
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // Nothing to do.
    }
  }

  @Override
  public void close() throws IOException {
    listener.close();
    open.forEach(ResettingTcpProxy::closeQuietly);
  }
}
