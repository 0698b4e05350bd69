// The Android app: Compose screens and platform services (camera, NFC, location,
// WorkManager, Keystore) over app-logic. The Rust core is cross-compiled with cargo-ndk
// for the three ABIs phones and emulators use and packed as jniLibs; JNA loads it.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

val repoRoot: File = rootProject.file(providers.gradleProperty("patrol.repoRoot").get())
val rustProfile: String = providers.gradleProperty("patrol.rustProfile").getOrElse("release")
// The console host whose https://<host>/notices/<id> links open in the app (App Links):
// the host of the server's PATROL_PUBLIC_URL. One build per customer host, or pass
// -Ppatrol.linkHost=patrol.example.cn; the server must serve assetlinks.json there.
val linkHost: String = providers.gradleProperty("patrol.linkHost").getOrElse("patrol.example.com")
val rustAbis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")
val jniOut: Provider<Directory> = layout.buildDirectory.dir("rustJniLibs")

// cargo-ndk finds the NDK through ANDROID_NDK_HOME (or the SDK's ndk/ folder) and
// writes <abi>/libpatrol_core.so under the output directory.
val buildRustCore by tasks.registering(Exec::class) {
    group = "patrol"
    description = "Builds libpatrol_core.so for ${rustAbis.joinToString()} with cargo-ndk."
    workingDir = repoRoot
    val args = mutableListOf("cargo", "ndk")
    rustAbis.forEach { args += listOf("-t", it) }
    args += listOf("--platform", "26", "-o", jniOut.get().asFile.path, "build", "-p", "patrol-core")
    if (rustProfile == "release") args += "--release"
    commandLine(args)
    inputs.dir(repoRoot.resolve("mobile-core/src"))
    inputs.dir(repoRoot.resolve("protocol/src"))
    inputs.file(repoRoot.resolve("Cargo.lock"))
    outputs.dir(jniOut)
}

android {
    namespace = "app.patrol.android"
    compileSdk = 35

    defaultConfig {
        applicationId = "app.patrol.android"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += rustAbis }
        manifestPlaceholders["patrolLinkHost"] = linkHost
        resValue("string", "link_host", linkHost)
    }

    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    buildFeatures { compose = true }

    sourceSets["main"].jniLibs.srcDir(jniOut)

    packaging {
        // The core is loaded by name at run time through JNA; keep its symbols.
        jniLibs { keepDebugSymbols += "**/libpatrol_core.so" }
    }
}

kotlin { compilerOptions { jvmTarget.set(JvmTarget.JVM_17) } }

tasks.named("preBuild") { dependsOn(buildRustCore) }

dependencies {
    implementation(project(":app-logic"))
    implementation("${libs.jna.get().module}:${libs.versions.jna.get()}@aar")
    implementation(libs.coroutines.android)
    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.activity.compose)
    implementation(libs.androidx.lifecycle.viewmodel.compose)
    implementation(libs.androidx.lifecycle.runtime.compose)
    implementation(libs.androidx.lifecycle.service)
    implementation(libs.androidx.navigation.compose)
    implementation(platform(libs.compose.bom))
    implementation(libs.compose.ui)
    implementation(libs.compose.material3)
    implementation(libs.compose.material.icons)
    implementation(libs.compose.ui.tooling.preview)
    debugImplementation(libs.compose.ui.tooling)
    implementation(libs.camerax.core)
    implementation(libs.camerax.camera2)
    implementation(libs.camerax.lifecycle)
    implementation(libs.camerax.view)
    implementation(libs.mlkit.barcode)
    implementation(libs.work.runtime)
    implementation(libs.androidx.biometric)
}
