// AES-GCM keys that never leave the Android Keystore (hardware-backed where the phone
// has it), by alias: the store key's plain wrap (DeviceSecret) and the app lock's two
// wraps (StoreKeyLock) are all made and found here.
package app.patrol.android.platform

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.security.KeyStore
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey

internal object KeystoreKeys {
    fun keyStore(): KeyStore = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }

    /** The AES-256-GCM key under [alias]; made with [spec]'s extra settings (who must
     *  authenticate, and how) when missing and [create] is true, else null. */
    fun aesGcm(alias: String, create: Boolean = true, spec: KeyGenParameterSpec.Builder.() -> Unit = {}): SecretKey? {
        (keyStore().getEntry(alias, null) as? KeyStore.SecretKeyEntry)?.let { return it.secretKey }
        if (!create) return null
        val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
        gen.init(
            KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .apply(spec)
                .build(),
        )
        return gen.generateKey()
    }

    fun delete(alias: String) = runCatching { keyStore().deleteEntry(alias) }
}
