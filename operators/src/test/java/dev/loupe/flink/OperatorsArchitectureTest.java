package dev.loupe.flink;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Flink operators' structure: packages one way only, and nothing of the jobs or the command line. */
class OperatorsArchitectureTest {
    private static JavaClasses operators;

    @BeforeAll
    static void importOperators() {
        operators = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.loupe.flink");
    }

    @Test
    void packagesHaveNoCycles() {
        slices().matching("dev.loupe.(**)").should().beFreeOfCycles().check(operators);
    }

    @Test
    void operatorsDoNotReachIntoJobsOrTheCommandLine() {
        noClasses().should().dependOnClassesThat().resideInAnyPackage("dev.loupe.jobs..", "dev.loupe.cli..")
                .check(operators);
    }
}
