package dev.loupe.flink.fetch;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * At most {@code maxPerHost} requests in flight per host name across one fetcher (that is, across one operator
 * instance's fetch pool), so that a slow or rate-limiting host cannot take every fetch thread. Waiting for a slot ends
 * at the caller's deadline. Hosts with nothing in flight are forgotten, so the table stays as small as the pool.
 */
final class HostLimiter {
    private final int maxPerHost;
    /** In-flight requests per host; guarded by {@code this}. */
    private final Map<String, Integer> inFlight = new HashMap<>();

    HostLimiter(int maxPerHost) {
        this.maxPerHost = maxPerHost;
    }

    /**
     * Takes a slot for {@code host}, waiting until one is free or {@code deadline} ({@link System#nanoTime()}) passes.
     *
     * @return whether a slot was taken (false: the deadline passed first); a true return must be paired with
     *         {@link #release(String)}
     */
    synchronized boolean acquire(String host, long deadline) throws InterruptedException {
        while (true) {
            int now = inFlight.getOrDefault(host, 0);
            if (now < maxPerHost) {
                inFlight.put(host, now + 1);
                return true;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
    }

    synchronized void release(String host) {
        int now = inFlight.getOrDefault(host, 0);
        if (now <= 1) {
            inFlight.remove(host);
        } else {
            inFlight.put(host, now - 1);
        }
        notifyAll();
    }
}
