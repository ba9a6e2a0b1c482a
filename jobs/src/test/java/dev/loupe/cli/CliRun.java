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
