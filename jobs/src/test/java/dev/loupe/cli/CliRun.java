package dev.loupe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** One in-process run of the {@code loupe} command line, as a user types it, with what it printed. */
record CliRun(int status, String out, String err) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Object CONSOLE = new Object();

    /** Runs {@code loupe args...}, capturing stdout and stderr (runs are serialised: the console is global). */
    static CliRun of(String... args) {
        synchronized (CONSOLE) {
            PrintStream oldOut = System.out;
            PrintStream oldErr = System.err;
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int status;
            try {
                System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
                System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
                status = Loupe.execute(args);
            } finally {
                System.setOut(oldOut);
                System.setErr(oldErr);
            }
            return new CliRun(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        }
    }

    /**
     * Starts {@code loupe args...} on a background thread (for commands that run until stopped), its stdout and
     * stderr readable while it runs; the console stays redirected until it ends, so other runs wait.
     */
    static Background start(String... args) {
        Background b = new Background();
        b.thread = new Thread(() -> {
            synchronized (CONSOLE) {
                PrintStream oldOut = System.out;
                PrintStream oldErr = System.err;
                try {
                    System.setOut(new PrintStream(b.out, true, StandardCharsets.UTF_8));
                    System.setErr(new PrintStream(b.err, true, StandardCharsets.UTF_8));
                    b.status = Loupe.execute(args);
                } finally {
                    System.setOut(oldOut);
                    System.setErr(oldErr);
                }
            }
        }, "cli-run-background");
        b.thread.setDaemon(true);
        b.thread.start();
        return b;
    }

    /** A command running on a background thread. */
    static final class Background {
        private final ByteArrayOutputStream out = new SynchronizedBuffer();
        private final ByteArrayOutputStream err = new SynchronizedBuffer();
        private Thread thread;
        private volatile int status = -1;

        /** Stdout so far. */
        String out() {
            return out.toString(StandardCharsets.UTF_8);
        }

        String err() {
            return err.toString(StandardCharsets.UTF_8);
        }

        boolean isRunning() {
            return thread.isAlive();
        }

        /** Waits (up to {@code limit}, a guard against hanging, not an assertion) until stdout satisfies {@code done}. */
        String awaitOut(java.util.function.Predicate<String> done, java.time.Duration limit) throws InterruptedException {
            long end = System.nanoTime() + limit.toNanos();
            while (!done.test(out()) && thread.isAlive() && System.nanoTime() < end) {
                Thread.sleep(200);
            }
            return out();
        }

        /** Waits for the command to end and returns what it printed. */
        CliRun join(java.time.Duration limit) throws InterruptedException {
            thread.join(limit.toMillis());
            return new CliRun(status, out(), err());
        }
    }

    private static final class SynchronizedBuffer extends ByteArrayOutputStream {
        @Override
        public synchronized void write(int b) {
            super.write(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            super.write(b, off, len);
        }

        @Override
        public synchronized String toString(java.nio.charset.Charset charset) {
            return super.toString(charset);
        }
    }

    /** Stdout as JSON lines. */
    List<JsonNode> lines() {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (!line.isBlank()) {
                try {
                    lines.add(JSON.readTree(line));
                } catch (IOException e) {
                    throw new UncheckedIOException("not a JSON line: " + line, e);
                }
            }
        }
        return lines;
    }
}
