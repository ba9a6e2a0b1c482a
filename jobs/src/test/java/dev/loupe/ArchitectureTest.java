package dev.loupe;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The layering of the whole project (every module's main classes): no package cycles anywhere, jobs never
 * reach into the command line, and the operators and the model never reach into the jobs.
 */
class ArchitectureTest {
    private static JavaClasses loupe;

    @BeforeAll
    static void importEverything() {
        loupe = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                // other modules' test-jars (shared test helpers) are not main code
                .withImportOption(location -> !location.contains("-tests.jar"))
                .importPackages("dev.loupe");
    }

    @Test
    void packagesHaveNoCycles() {
        slices().matching("dev.loupe.(**)").should().beFreeOfCycles().check(loupe);
    }

    @Test
    void jobsNeverReferToTheCommandLine() {
        noClasses().that().resideOutsideOfPackage("dev.loupe.cli..")
                .should().dependOnClassesThat().resideInAPackage("dev.loupe.cli..")
                .check(loupe);
    }

    @Test
    void modelAndOperatorsNeverReferToJobs() {
        noClasses().that().resideInAnyPackage("dev.loupe.model..", "dev.loupe.flink..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.loupe.jobs..", "dev.loupe.cli..",
                        "dev.loupe.embedded..", "dev.loupe.config..")
                .check(loupe);
    }
}
