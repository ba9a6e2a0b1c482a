package dev.loupe.jobs.caption;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.Thumbnail;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contact sheet in a real browser (Debian's headless chromium over the DevTools protocol): every page loads with
 * no console error, failed request or dialog, shows exactly one tile per image across its pages with the caption or
 * the error, every thumbnail decodes, and captions holding HTML stay text.
 */
@Tag("slow")
class ContactSheetBrowserTest {
    private static final String NASTY = "<script>alert(\"x\")</script> & \"quotes\" <b>bold</b>";

    @TempDir
    Path tmp;

    @Test
    void everyImageIsOneTileWithItsCaptionOrErrorAndThePagesLoadCleanly() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(HeadlessChromium.BINARY), "no /usr/bin/chromium");
        Path out = tmp.resolve("out");
        Files.createDirectories(out.resolve("thumbs"));
        List<CaptionRow> rows = new ArrayList<>();
        Set<String> thumbs = new HashSet<>();
        for (int i = 0; i < 5; i++) {
            CaptionRow row = new CaptionRow();
            row.sequence = InputSplit.sequence(0, i);
            row.image = "set.tar!/dir/img-" + i + ".png";
            if (i == 1 || i == 3) {
                row.errorCode = "IMAGE_CORRUPT";
                row.errorMessage = "cannot decode <img-" + i + ">";
            } else {
                row.task = "caption";
                row.text = i == 2 ? NASTY : "caption number " + i;
                row.score = -1.5;
                row.model = "echo";
                byte[] rgb = new byte[3 * 64 * 48];
                Arrays.fill(rgb, (byte) (40 * i));
                try (Thumbnails writer = Thumbnails.open()) {
                    writer.write(new Thumbnail(64, 48, rgb), out.resolve("thumbs/" + row.sequence + ".jpg"));
                }
                thumbs.add(row.sequence);
            }
            rows.add(row);
        }
        new ContactSheet(out, 3).write(rows, thumbs);

        List<String> texts = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        try (HeadlessChromium chromium = new HeadlessChromium(tmp.resolve("profile"))) {
            for (String page : List.of("index.html", "page-2.html", "failures.html")) {
                chromium.open(out.resolve(page).toUri().toString());
                assertThat(chromium.problems()).as(page).isEmpty();
                assertThat(chromium.requests()).as(page).allMatch(url -> url.startsWith("file:"));
                if (page.equals("failures.html")) {
                    assertThat(chromium.evaluate("document.querySelectorAll('tr.failure').length").asInt()).isEqualTo(2);
                    continue;
                }
                // lazy thumbnails load after the load event: wait for each to load or fail
                JsonNode tiles = chromium.evaluate("""
                        Promise.all([...document.images].map(i => i.complete ? 0
                            : new Promise(done => { i.onload = done; i.onerror = done; })))
                        .then(() => [...document.querySelectorAll('figure.tile')].map(t => ({
                          image: t.dataset.image,
                          failed: t.classList.contains('failed'),
                          text: (t.querySelector('.text') || {}).textContent || null,
                          error: (t.querySelector('.error') || {}).textContent || null,
                          img: t.querySelector('img') ? t.querySelector('img').complete
                                  && t.querySelector('img').naturalWidth > 0 : null})))""");
                for (JsonNode tile : tiles) {
                    if (tile.get("failed").asBoolean()) {
                        errors.add(tile.get("image").asText() + " " + tile.get("error").asText());
                    } else {
                        texts.add(tile.get("image").asText() + " " + tile.get("text").asText());
                        assertThat(tile.get("img").asBoolean()).as("thumbnail of " + tile).isTrue();
                    }
                }
                assertThat(chromium.evaluate("document.scripts.length").asInt()).isZero();
            }
        }
        assertThat(texts).containsExactly("set.tar!/dir/img-0.png caption number 0",
                "set.tar!/dir/img-2.png " + NASTY, "set.tar!/dir/img-4.png caption number 4");
        assertThat(errors).containsExactly("set.tar!/dir/img-1.png IMAGE_CORRUPT cannot decode <img-1>",
                "set.tar!/dir/img-3.png IMAGE_CORRUPT cannot decode <img-3>");
    }
}
