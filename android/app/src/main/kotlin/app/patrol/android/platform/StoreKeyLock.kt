// The app lock's keys: with the lock on, the store key (DeviceSecret's 32 bytes) is kept
// wrapped twice, and the plain (no-authentication) wrap DeviceSecret keeps is deleted:
//
//  - "patrol.lock.bio": AES-GCM, setUserAuthenticationRequired(true), every use
//    authorised by a strong biometric through BiometricPrompt's CryptoObject (API 30+:
//    setUserAuthenticationParameters(0, AUTH_BIOMETRIC_STRONG); 26–29: validity -1, the
//    pre-30 way of saying "per use, biometric"), setInvalidatedByBiometricEnrollment(true):
//    a finger or face added later cannot open it (KeyPermanentlyInvalidatedException).
//  - "patrol.lock.cred": AES-GCM usable for 30 s after the person proved the screen lock
//    (API 30+: setUserAuthenticationParameters(30, AUTH_DEVICE_CREDENTIAL or
//    AUTH_BIOMETRIC_STRONG); 26–29: setUserAuthenticationValidityDurationSeconds(30)),
//    not invalidated by enrolment: the fallback after a lockout or a biometric change.
//
// AppLock (app-logic) decides which prompt to show; this carries it out. Written without
// an Android SDK at hand and not compiled in CI (android/README.md, "What was checked").
package app.patrol.android.platform

import android.app.KeyguardManager
import android.content.Context
import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.security.keystore.UserNotAuthenticatedException
import android.util.Base64
import androidx.biometric.BiometricManager
import androidx.biometric.BiometricManager.Authenticators.BIOMETRIC_STRONG
import androidx.biometric.BiometricManager.Authenticators.BIOMETRIC_WEAK
import androidx.biometric.BiometricManager.Authenticators.DEVICE_CREDENTIAL
import androidx.biometric.BiometricPrompt
import androidx.core.content.ContextCompat
import androidx.fragment.app.FragmentActivity
import app.patrol.logic.Authenticator
import app.patrol.logic.BiometricFailure
import app.patrol.logic.DeviceAuth
import app.patrol.logic.Lang
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

object StoreKeyLock {
    private const val BIO = "patrol.lock.bio"
    private const val CRED = "patrol.lock.cred"
    private const val PREFS = "patrol.lock"
    private const val ENABLED = "enabled"
    private const val LOCK_AFTER = "lock_after_ms"
    private const val CRED_VALIDITY_S = 30

    fun isEnabled(context: Context): Boolean = prefs(context).getBoolean(ENABLED, false)

    fun lockAfterMs(context: Context): Long = prefs(context).getLong(LOCK_AFTER, app.patrol.logic.AppLock.DEFAULT_LOCK_AFTER_MS)

    fun deviceAuth(context: Context): DeviceAuth {
        val km = context.getSystemService(KeyguardManager::class.java)
        val bm = BiometricManager.from(context)
        return DeviceAuth(
            biometricEnrolled = bm.canAuthenticate(BIOMETRIC_STRONG) == BiometricManager.BIOMETRIC_SUCCESS,
            deviceSecure = km.isDeviceSecure,
        )
    }

    /**
     * Turns the lock on: the person proves the screen lock, the store key is wrapped under
     * the credential key, then (if a biometric is enrolled) a biometric prompt wraps it
     * under a fresh biometric key; only then is DeviceSecret's plain wrap removed.
     * [storeKey] is the key the open core uses now.
     */
    fun enable(activity: FragmentActivity, storeKey: ByteArray, lang: Lang, done: (Boolean) -> Unit) {
        prompt(activity, lang, setOf(Authenticator.DEVICE_CREDENTIAL), crypto = null) { ok, _ ->
            if (!ok) return@prompt done(false)
            deleteKey(CRED)
            val sealed = seal(encryptCipher(credKey(create = true)), storeKey) ?: return@prompt done(false)
            check(prefs(activity).edit().putString(CRED, sealed).putBoolean(ENABLED, true).commit())
            DeviceSecret.forgetPlainWrap(activity)
            if (deviceAuth(activity).biometricEnrolled) wrapUnderBiometric(activity, storeKey, lang) { done(true) } else done(true)
        }
    }

    /**
     * A new biometric key and the store key under it. Symmetric Keystore keys that need
     * authentication need it to encrypt too, so this is a biometric prompt of its own
     * (after enabling, and after the screen-lock unlock that follows a biometric change).
     * [done] says whether the wrap was made; if not, AppLock keeps asking for the screen lock.
     */
    fun wrapUnderBiometric(activity: FragmentActivity, storeKey: ByteArray, lang: Lang, done: (Boolean) -> Unit) {
        deleteKey(BIO)
        prefs(activity).edit().remove(BIO).commit()
        val cipher = runCatching { encryptCipher(bioKey(create = true)) }.getOrElse { return done(false) }
        prompt(activity, lang, setOf(Authenticator.BIOMETRIC), BiometricPrompt.CryptoObject(cipher)) { ok, r ->
            val sealed = if (ok) r?.cryptoObject?.cipher?.let { seal(it, storeKey) } else null
            done(sealed != null && prefs(activity).edit().putString(BIO, sealed).commit())
        }
    }

    /**
     * Asks for [allowed] and hands back the store key, or the failure AppLock should hear
     * of. With a biometric wrap and biometrics allowed, the biometric key's cipher goes in
     * the prompt (CryptoObject); otherwise the screen lock unlocks the time-bound key.
     * After a biometric change the caller then runs [wrapUnderBiometric] (AppLock's `rewrapAfter`).
     */
    fun unlock(
        activity: FragmentActivity,
        allowed: Set<Authenticator>,
        lang: Lang,
        result: (key: ByteArray?, via: Authenticator?, failure: BiometricFailure?) -> Unit,
    ) {
        val prefs = prefs(activity)
        val bioSealed = prefs.getString(BIO, null)
        if (Authenticator.BIOMETRIC in allowed && bioSealed != null) {
            val cipher = try {
                decryptCipher(bioKey(create = false) ?: return result(null, null, BiometricFailure.KEY_INVALIDATED), bioSealed)
            } catch (e: KeyPermanentlyInvalidatedException) {
                // A finger or face was added (or all removed): this key is gone for good.
                return result(null, null, BiometricFailure.KEY_INVALIDATED)
            }
            prompt(activity, lang, setOf(Authenticator.BIOMETRIC), BiometricPrompt.CryptoObject(cipher)) { ok, r ->
                val key = if (ok) r?.cryptoObject?.cipher?.let { open(it, bioSealed) } else null
                if (key != null) result(key, Authenticator.BIOMETRIC, null) else result(null, null, lastFailure)
            }
            return
        }
        prompt(activity, lang, setOf(Authenticator.DEVICE_CREDENTIAL), crypto = null) { ok, _ ->
            if (!ok) return@prompt result(null, null, lastFailure)
            val credSealed = prefs.getString(CRED, null)
            val credKey = credKey(create = false)
            // No credential key: the screen lock was removed and Android deleted the key.
            if (credSealed == null || credKey == null) return@prompt result(null, null, BiometricFailure.KEY_INVALIDATED)
            val key = try {
                open(decryptCipher(credKey, credSealed), credSealed)
            } catch (e: UserNotAuthenticatedException) {
                null
            }
            if (key == null) result(null, null, BiometricFailure.CANCELLED) else result(key, Authenticator.DEVICE_CREDENTIAL, null)
        }
    }

    /** The lock off: the store key goes back under DeviceSecret's plain wrap, then the lock keys go. */
    fun disable(context: Context, storeKey: ByteArray) {
        DeviceSecret.restorePlainWrap(context, storeKey)
        prefs(context).edit().clear().commit()
        deleteKey(BIO)
        deleteKey(CRED)
    }

    private var lastFailure: BiometricFailure = BiometricFailure.CANCELLED

    private fun prompt(
        activity: FragmentActivity,
        lang: Lang,
        allowed: Set<Authenticator>,
        crypto: BiometricPrompt.CryptoObject?,
        done: (Boolean, BiometricPrompt.AuthenticationResult?) -> Unit,
    ) {
        val callback = object : BiometricPrompt.AuthenticationCallback() {
            override fun onAuthenticationSucceeded(result: BiometricPrompt.AuthenticationResult) = done(true, result)

            override fun onAuthenticationError(code: Int, message: CharSequence) {
                lastFailure = when (code) {
                    BiometricPrompt.ERROR_NEGATIVE_BUTTON -> BiometricFailure.CHOSE_SCREEN_LOCK
                    BiometricPrompt.ERROR_LOCKOUT -> BiometricFailure.LOCKOUT
                    BiometricPrompt.ERROR_LOCKOUT_PERMANENT -> BiometricFailure.LOCKOUT_PERMANENT
                    BiometricPrompt.ERROR_NO_BIOMETRICS, BiometricPrompt.ERROR_HW_NOT_PRESENT,
                    BiometricPrompt.ERROR_HW_UNAVAILABLE -> BiometricFailure.NO_BIOMETRICS
                    else -> BiometricFailure.CANCELLED
                }
                done(false, null)
            }
            // onAuthenticationFailed: one finger not recognised; the prompt stays up.
        }
        val title = if (lang == Lang.EN) "Unlock Patrol" else "解锁巡检"
        val info = BiometricPrompt.PromptInfo.Builder().setTitle(title).apply {
            if (Authenticator.BIOMETRIC in allowed) {
                setAllowedAuthenticators(BIOMETRIC_STRONG)
                setNegativeButtonText(if (lang == Lang.EN) "Use screen lock" else "使用锁屏密码")
            } else if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
                setAllowedAuthenticators(DEVICE_CREDENTIAL)
            } else {
                // Before Android 11 the credential alone cannot be asked for: let a weak
                // biometric or the credential through; either unlocks the time-bound key.
                setAllowedAuthenticators(BIOMETRIC_WEAK or DEVICE_CREDENTIAL)
            }
        }.build()
        val p = BiometricPrompt(activity, ContextCompat.getMainExecutor(activity), callback)
        if (crypto != null) p.authenticate(info, crypto) else p.authenticate(info)
    }

    private fun prefs(context: Context) = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)


    private fun deleteKey(alias: String) = KeystoreKeys.delete(alias)

    private fun bioKey(create: Boolean): SecretKey? = key(BIO, create) {
        setUserAuthenticationRequired(true)
        setInvalidatedByBiometricEnrollment(true)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
            setUserAuthenticationParameters(0, KeyProperties.AUTH_BIOMETRIC_STRONG)
        } else {
            @Suppress("DEPRECATION")
            setUserAuthenticationValidityDurationSeconds(-1)
        }
    }

    private fun credKey(create: Boolean): SecretKey? = key(CRED, create) {
        setUserAuthenticationRequired(true)
        setInvalidatedByBiometricEnrollment(false)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
            setUserAuthenticationParameters(CRED_VALIDITY_S, KeyProperties.AUTH_DEVICE_CREDENTIAL or KeyProperties.AUTH_BIOMETRIC_STRONG)
        } else {
            @Suppress("DEPRECATION")
            setUserAuthenticationValidityDurationSeconds(CRED_VALIDITY_S)
        }
    }

    private fun key(alias: String, create: Boolean, spec: KeyGenParameterSpec.Builder.() -> Unit): SecretKey? =
        KeystoreKeys.aesGcm(alias, create, spec)

    private fun encryptCipher(key: SecretKey?): Cipher =
        Cipher.getInstance("AES/GCM/NoPadding").apply { init(Cipher.ENCRYPT_MODE, key ?: error("no key")) }

    private fun decryptCipher(key: SecretKey, sealed: String): Cipher {
        val iv = Base64.decode(sealed.substringBefore(':'), Base64.NO_WRAP)
        return Cipher.getInstance("AES/GCM/NoPadding").apply { init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, iv)) }
    }

    private fun seal(c: Cipher, secret: ByteArray): String? = runCatching {
        val sealed = c.doFinal(secret)
        Base64.encodeToString(c.iv, Base64.NO_WRAP) + ":" + Base64.encodeToString(sealed, Base64.NO_WRAP)
    }.getOrNull()

    private fun open(c: Cipher, sealed: String): ByteArray? =
        runCatching { c.doFinal(Base64.decode(sealed.substringAfter(':'), Base64.NO_WRAP)) }.getOrNull()
}
