package dev.loupe.jobs.caption;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.api.ErrorCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Planning inputs into splits and reading their entries, without Flink. */
class InputPlanTest {
    private static final long MAX_BYTES = 3 * 1024;

    @TempDir
    Path tmp;

    private static List<InputEntry> read(InputSplit split) throws IOException {
        List<InputEntry> entries = new ArrayList<>();
        try (InputEntries in = InputEntries.open(split, MAX_BYTES, true)) {
            for (InputEntry e; (e = in.next()) != null; ) {
                entries.add(e);
            }
        }
        return entries;
    }

    @Test
    void plansFoldersArchivesAndManifestsInInputOrderAndCountsTheirImages() throws Exception {
        CaptionInputs in = CaptionInputs.under(tmp);
        InputPlan plan = InputPlan.of(List.of(in.inputArgs()), 2, MAX_BYTES, "image");

        assertThat(plan.total()).isEqualTo(in.expected.size());
        assertThat(plan.splits()).extracting(InputSplit::kind).containsExactly(InputSplit.Kind.FILES,
                InputSplit.Kind.FILES, InputSplit.Kind.FILES, InputSplit.Kind.TAR, InputSplit.Kind.TAR_GZ,
                InputSplit.Kind.ZIP, InputSplit.Kind.MANIFEST);
        assertThat(plan.fileRoots()).containsExactly(in.folder.toAbsolutePath(), tmp.toAbsolutePath());
        List<String> ids = new ArrayList<>();
        for (InputSplit split : plan.splits()) {
            read(split).forEach(e -> ids.add(e.id()));
        }
        assertThat(ids).containsExactlyElementsOf(in.expected.keySet());
    }

    @Test
    void aSplitRestoredAtAPositionResumesAfterItsEmittedEntries() throws Exception {
        CaptionInputs in = CaptionInputs.under(tmp);
        InputSplit tar = InputPlan.of(List.of(in.tar.toString()), 2, MAX_BYTES, "image").splits().get(0);
        InputSplitSerializer serializer = new InputSplitSerializer();
        InputSplit restored = serializer.deserialize(serializer.getVersion(), serializer.serialize(tar.at(1)));

        assertThat(restored).isEqualTo(tar.at(1));
        List<InputEntry> rest = read(restored);
        assertThat(rest).extracting(InputEntry::id).containsExactly(in.tar + "!/x/big.png", in.tar + "!/x/2.jpg");
        assertThat(rest.get(0).errorCode()).isEqualTo(ErrorCode.IMAGE_TOO_LARGE);
        assertThat(rest.get(1).bytes()).isNotEmpty();
    }

    @Test
    void aTruncatedArchiveEndsInAFailureEntryAndIsCountedAsItIsRead() throws Exception {
        CaptionInputs in = CaptionInputs.under(tmp);
        byte[] whole = Files.readAllBytes(in.tar);
        Path cut = tmp.resolve("cut.tar");
        Files.write(cut, Arrays.copyOf(whole, 512 + 300));   // the first header and part of its data
        InputPlan plan = InputPlan.of(List.of(cut.toString()), 2, MAX_BYTES, "image");

        List<InputEntry> entries = read(plan.splits().get(0));
        assertThat(plan.total()).isEqualTo(entries.size());
        assertThat(entries).last().satisfies(e -> {
            assertThat(e.errorCode()).isEqualTo(ErrorCode.FETCH_FAILED);
            assertThat(e.errorMessage()).contains(cut.toString());
        });
    }

    @Test
    void globsMatchUnderTheirBaseFolderAndBadInputsAreClearErrors() throws Exception {
        CaptionInputs in = CaptionInputs.under(tmp);
        InputPlan glob = InputPlan.of(List.of(in.folder + "/*.png"), 10, MAX_BYTES, "image");
        assertThat(glob.splits()).singleElement().satisfies(s -> assertThat(s.ids()).containsExactly(in.folder + "/a.png"));
        assertThat(glob.fileRoots()).containsExactly(in.folder.toAbsolutePath());

        assertThatThrownBy(() -> InputPlan.of(List.of(tmp.resolve("nope").toString()), 2, MAX_BYTES, "image"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> InputPlan.of(List.of(in.folder + "/*.gif"), 2, MAX_BYTES, "image"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("matches no file");
        assertThatThrownBy(() -> InputPlan.of(List.of(in.manifest.toString()), 2, MAX_BYTES, "path"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has no column 'path'");
    }
}
