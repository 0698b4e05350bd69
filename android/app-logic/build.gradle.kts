// Plain Kotlin: the repository and screen models over the generated bindings. No
// Android APIs, so its tests run on the desktop JVM against the real core and server
// (here with Gradle, and in CI with scripts/kotlin-test, which compiles the same sources).
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.kotlin.jvm)
}

val repoRoot: File = rootProject.file(providers.gradleProperty("patrol.repoRoot").get())
val bindingsDir: File = repoRoot.resolve("target/bindings/kotlin")

// The bindings are build output of the Rust core: generated with the pinned generator.
val generateBindings by tasks.registering(Exec::class) {
    group = "patrol"
    description = "Builds the core for this machine and generates the Kotlin bindings (scripts/bindings)."
    workingDir = repoRoot
    commandLine("scripts/bindings")
    inputs.dir(repoRoot.resolve("mobile-core/src"))
    inputs.dir(repoRoot.resolve("protocol/src"))
    outputs.dir(bindingsDir)
}

java { toolchain { languageVersion.set(JavaLanguageVersion.of(17)) } }
kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
    sourceSets["main"].kotlin.srcDir(files(bindingsDir).builtBy(generateBindings))
}

dependencies {
    api(libs.coroutines.core)
    // The app brings JNA as an AAR (with its native libraries); the JVM tests bring the jar.
    compileOnly(libs.jna)
    testImplementation(libs.jna)
    testImplementation(libs.kotlin.test.junit5)
    testImplementation(libs.junit.jupiter)
    testRuntimeOnly(libs.junit.platform.launcher)
}

tasks.test {
    useJUnitPlatform()
    workingDir = repoRoot
    systemProperty("jna.library.path", repoRoot.resolve("target/debug").path)
    systemProperty("patrol.server.bin", repoRoot.resolve("target/debug/patrol-server").path)
    doFirst {
        check(repoRoot.resolve("target/debug/patrol-server").exists()) { "cargo build -p patrol-server first" }
    }
}
