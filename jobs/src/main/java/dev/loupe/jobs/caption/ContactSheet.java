package dev.loupe.jobs.caption;

import java.io.Closeable;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The HTML contact sheet people open in a browser: pages of {@code pageSize} tiles ({@code index.html},
 * {@code page-2.html}, ...), each an image's thumbnail (from {@code thumbs/}) with its caption, failed images marked
 * with their error code and message, and {@code failures.html} listing every failure. Self-contained: no scripts,
 * no network, all text HTML-escaped.
 */
final class ContactSheet {
    private static final String STYLE = """
            body{font-family:system-ui,sans-serif;margin:1rem;background:#fafafa;color:#222}
            header p{margin:.3rem 0}nav a{margin-right:.5rem}
            .tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:.8rem;margin:1rem 0}
            .tile{margin:0;padding:.5rem;background:#fff;border:1px solid #ddd;border-radius:6px;overflow-wrap:anywhere}
            .tile img,.tile .none{display:block;max-width:100%;margin:0 auto .4rem}
            .tile .none{height:96px;line-height:96px;text-align:center;color:#999;background:#f0f0f0}
            .tile.failed{border-color:#d66;background:#fff5f5}
            .image{display:block;font-size:.75rem;color:#666}.text{display:block;margin-top:.2rem}
            .error code{color:#b00}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.3rem;text-align:left}
            """;

    private final Path root;
    private final int pageSize;

    ContactSheet(Path root, int pageSize) {
        this.root = root;
        this.pageSize = pageSize;
    }

    /** Page file name of page {@code n} (1-based). */
    static String pageName(int n) {
        return n == 1 ? "index.html" : "page-" + n + ".html";
    }

    /**
     * Writes every page; {@code thumbs} holds the sequences that have a thumbnail ({@code thumbs/SEQUENCE.jpg}).
     */
    void write(List<CaptionRow> rows, Set<String> thumbs) throws IOException {
        Totals totals = new Totals();
        rows.forEach(totals::add);
        try (Pages pages = open(totals)) {
            for (CaptionRow row : rows) {
                pages.add(row, thumbs.contains(row.sequence));
            }
            pages.finish();
        }
    }

    /** Starts writing the sheet of rows that {@code totals} counted; they are then given in order to the result. */
    Pages open(Totals totals) throws IOException {
        return new Pages(totals);
    }

    /** What the summary at the top of each page says, counted before the pages are written. */
    static final class Totals {
        long rows;
        long failed;
        final SortedMap<String, Long> byCode = new TreeMap<>();

        void add(CaptionRow row) {
            rows++;
            if (row.failed()) {
                byCode.merge(row.errorCode, 1L, Long::sum);
                failed++;
            }
        }
    }

    /**
     * The sheet being written row by row, in bounded memory: each page is written when full, failures are appended
     * to {@code failures.html} as they come; {@link #finish} writes the last page and moves failures.html into place.
     */
    final class Pages implements Closeable {
        private final Totals totals;
        private final int pages;
        private final Path failuresTmp;
        private final Writer failures;
        private final StringBuilder tiles = new StringBuilder();
        private int page = 1;
        private int onPage;
        private boolean finished;

        private Pages(Totals totals) throws IOException {
            this.totals = totals;
            this.pages = (int) Math.max(1, (totals.rows + pageSize - 1) / pageSize);
            this.failuresTmp = root.resolve(".failures.html.tmp");
            this.failures = Files.newBufferedWriter(failuresTmp, StandardCharsets.UTF_8);
            StringBuilder html = new StringBuilder();
            head(html, "loupe caption — failures");
            html.append("<header><h1>Failures</h1><p><a href=\"index.html\">back to the contact sheet</a></p></header>\n");
            html.append("<table class=\"failures\"><thead><tr><th>image</th><th>code</th><th>message</th></tr></thead><tbody>\n");
            failures.append(html);
        }

        /** Adds the next row's tile; {@code hasThumb}: {@code thumbs/SEQUENCE.jpg} exists. */
        void add(CaptionRow row, boolean hasThumb) throws IOException {
            if (onPage == pageSize) {
                writePage();
            }
            tile(tiles, row, hasThumb);
            onPage++;
            if (row.failed()) {
                failures.append("<tr class=\"failure\"><td>").append(escape(row.image)).append("</td><td><code>")
                        .append(escape(row.errorCode)).append("</code></td><td>").append(escape(row.errorMessage))
                        .append("</td></tr>\n");
            }
        }

        /** Writes the last page and failures.html, and removes pages of an earlier, longer run into this folder. */
        void finish() throws IOException {
            writePage();
            failures.append("</tbody></table>\n</body></html>\n");
            failures.close();
            Files.move(failuresTmp, root.resolve("failures.html"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
            for (int stale = pages + 1; Files.deleteIfExists(root.resolve(pageName(stale))); stale++) {
                // pages of an earlier, longer run into this folder
            }
            finished = true;
        }

        private void writePage() throws IOException {
            if (page > pages) {
                throw new IllegalStateException("more rows than the " + totals.rows + " counted");
            }
            StringBuilder html = new StringBuilder();
            head(html, "loupe caption — page " + page + " of " + pages);
            summary(html, totals.rows, totals.failed, totals.byCode, page, pages);
            html.append("<main class=\"tiles\">\n").append(tiles).append("</main>\n");
            nav(html, page, pages);
            html.append("</body></html>\n");
            writeAtomically(root.resolve(pageName(page)), html);
            tiles.setLength(0);
            onPage = 0;
            page++;
        }

        /** Closes failures.html; when not finished, deletes its temporary file. */
        @Override
        public void close() throws IOException {
            failures.close();
            if (!finished) {
                Files.deleteIfExists(failuresTmp);
            }
        }
    }

    private static void head(StringBuilder html, String title) {
        html.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
                .append("<link rel=\"icon\" href=\"data:,\"><title>").append(escape(title)).append("</title>")
                .append("<style>").append(STYLE).append("</style></head><body>\n");
    }

    private static void summary(StringBuilder html, long total, long failed, Map<String, Long> byCode, int page,
            int pages) {
        html.append("<header><h1>loupe caption</h1><p class=\"summary\">").append(total).append(" images: ")
                .append(total - failed).append(" captioned, ").append(failed).append(" failed");
        if (!byCode.isEmpty()) {
            html.append(" (");
            boolean first = true;
            for (var e : byCode.entrySet()) {
                html.append(first ? "" : ", ").append(escape(e.getKey())).append(": ").append(e.getValue());
                first = false;
            }
            html.append(") — <a href=\"failures.html\">list of failures</a>");
        }
        html.append("</p>\n");
        nav(html, page, pages);
        html.append("</header>\n");
    }

    private static void nav(StringBuilder html, int page, int pages) {
        if (pages == 1) {
            return;
        }
        html.append("<nav>page ").append(page).append(" of ").append(pages).append(": ");
        if (page > 1) {
            html.append("<a href=\"").append(pageName(page - 1)).append("\">previous</a>");
        }
        if (page < pages) {
            html.append("<a href=\"").append(pageName(page + 1)).append("\">next</a>");
        }
        for (int p = 1; p <= pages; p++) {
            html.append(p == page ? "<b>" + p + "</b> " : "<a href=\"" + pageName(p) + "\">" + p + "</a>");
        }
        html.append("</nav>\n");
    }

    private static void tile(StringBuilder html, CaptionRow row, boolean hasThumb) {
        html.append("<figure class=\"tile ").append(row.failed() ? "failed" : "ok").append("\" data-image=\"")
                .append(escape(row.image)).append("\">");
        if (hasThumb) {
            html.append("<img src=\"thumbs/").append(escape(row.sequence)).append(".jpg\" alt=\"")
                    .append(escape(row.image)).append("\" loading=\"lazy\">");
        } else {
            html.append("<div class=\"none\">no preview</div>");
        }
        html.append("<figcaption><span class=\"image\">").append(escape(row.image)).append("</span>");
        if (row.failed()) {
            html.append("<span class=\"error\"><code>").append(escape(row.errorCode)).append("</code> ")
                    .append(escape(row.errorMessage)).append("</span>");
        } else {
            html.append("<span class=\"text\">").append(escape(row.text)).append("</span>");
            if (row.score != null) {
                html.append("<span class=\"image\">score ")
                        .append(String.format(Locale.ROOT, "%.3f", row.score)).append("</span>");
            }
        }
        html.append("</figcaption></figure>\n");
    }

    /** Text made safe for HTML element content and quoted attribute values. */
    static String escape(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    private static void writeAtomically(Path target, CharSequence content) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            w.append(content);
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
