use super::*;

const TOKEN: &str = "ms-12345678-aaaa-bbbb-cccc-1234567890ab";

fn key() -> MasterKey {
    MasterKey::generate().expect("key")
}

fn open(vault: &Vault, user: i64, row: i64, sealed: &Sealed) -> Result<ApiSecret, VaultError> {
    vault.open_api_key(UserId(user), KeyId(row), sealed)
}

#[test]
fn round_trip() {
    let vault = Vault::new(key());
    let sealed = vault
        .seal_api_key(UserId(1), KeyId(2), &ApiSecret::new(TOKEN))
        .expect("seal");
    assert_eq!(sealed.nonce.len(), NONCE_LEN);
    assert_eq!(sealed.master_key_id, vault.current_key_id());
    assert!(!sealed.ciphertext.windows(4).any(|w| w == b"ms-1"));
    let opened = open(&vault, 1, 2, &sealed).expect("open");
    assert_eq!(opened.expose(), TOKEN);
}

#[test]
fn sealing_twice_differs() {
    let vault = Vault::new(key());
    let secret = ApiSecret::new(TOKEN);
    let a = vault
        .seal_api_key(UserId(1), KeyId(2), &secret)
        .expect("seal");
    let b = vault
        .seal_api_key(UserId(1), KeyId(2), &secret)
        .expect("seal");
    assert_ne!(a.nonce, b.nonce);
    assert_ne!(a.ciphertext, b.ciphertext);
}

#[test]
fn tampering_fails() {
    let vault = Vault::new(key());
    let sealed = vault
        .seal_api_key(UserId(1), KeyId(2), &ApiSecret::new(TOKEN))
        .expect("seal");
    for i in 0..sealed.ciphertext.len() {
        let mut bad = sealed.clone();
        bad.ciphertext[i] ^= 0x01;
        assert!(matches!(
            open(&vault, 1, 2, &bad),
            Err(VaultError::CannotOpen)
        ));
    }
    for i in 0..sealed.nonce.len() {
        let mut bad = sealed.clone();
        bad.nonce[i] ^= 0x80;
        assert!(matches!(
            open(&vault, 1, 2, &bad),
            Err(VaultError::CannotOpen)
        ));
    }
    let mut short = sealed.clone();
    short.nonce.pop();
    assert!(matches!(
        open(&vault, 1, 2, &short),
        Err(VaultError::CannotOpen)
    ));
    let mut truncated = sealed.clone();
    truncated.ciphertext.truncate(4);
    assert!(matches!(
        open(&vault, 1, 2, &truncated),
        Err(VaultError::CannotOpen)
    ));
}

#[test]
fn other_user_or_row_fails() {
    let vault = Vault::new(key());
    let sealed = vault
        .seal_api_key(UserId(1), KeyId(2), &ApiSecret::new(TOKEN))
        .expect("seal");
    for (user, row) in [(2, 2), (1, 3), (2, 1), (-1, 2), (1, -2)] {
        assert!(matches!(
            open(&vault, user, row, &sealed),
            Err(VaultError::CannotOpen)
        ));
    }
}

#[test]
fn other_master_key_fails() {
    let sealed = Vault::new(key())
        .seal_api_key(UserId(1), KeyId(2), &ApiSecret::new(TOKEN))
        .expect("seal");
    let other = Vault::new(key());
    let err = open(&other, 1, 2, &sealed).expect_err("must not open");
    assert!(matches!(err, VaultError::UnknownMasterKey { ref id } if *id == sealed.master_key_id));

    // Same id claimed, different key: the tag check fails.
    let mut relabelled = sealed.clone();
    relabelled.master_key_id = other.current_key_id().to_owned();
    assert!(matches!(
        open(&other, 1, 2, &relabelled),
        Err(VaultError::CannotOpen)
    ));
}

#[test]
fn with_previous_opens_old_rows_and_seals_with_current() {
    let old_bytes = Zeroizing::new([1u8; KEY_LEN]);
    let old_vault = Vault::new(MasterKey::from_bytes(old_bytes.clone()));
    let sealed = old_vault
        .seal_api_key(UserId(1), KeyId(2), &ApiSecret::new(TOKEN))
        .expect("seal");

    let new = key();
    let new_id = new.id().to_owned();
    let vault = Vault::with_previous(new, vec![MasterKey::from_bytes(old_bytes)]);
    assert_eq!(open(&vault, 1, 2, &sealed).expect("open").expose(), TOKEN);
    let resealed = vault
        .seal_api_key(UserId(1), KeyId(2), &ApiSecret::new(TOKEN))
        .expect("seal");
    assert_eq!(resealed.master_key_id, new_id);
    assert_eq!(vault.current_key_id(), new_id);
}

#[test]
fn channel_secrets_are_bound_to_their_row_and_purpose() {
    let vault = Vault::new(key());
    let secret = r#"{"url":"https://oapi.dingtalk.com/robot/send?access_token=canary"}"#;
    let sealed = vault
        .seal_channel_secret(UserId(1), ChannelId(2), secret)
        .expect("seal");
    assert!(!sealed.ciphertext.windows(6).any(|w| w == b"canary"));
    let opened = vault
        .open_channel_secret(UserId(1), ChannelId(2), &sealed)
        .expect("open");
    assert_eq!(opened.as_str(), secret);
    for (user, row) in [(2, 2), (1, 3)] {
        assert!(
            vault
                .open_channel_secret(UserId(user), ChannelId(row), &sealed)
                .is_err()
        );
    }
    // The API-key purpose cannot open it, nor can a channel open an API key.
    assert!(open(&vault, 1, 2, &sealed).is_err());
    let api = vault
        .seal_api_key(UserId(1), KeyId(2), &ApiSecret::new(TOKEN))
        .expect("seal");
    assert!(
        vault
            .open_channel_secret(UserId(1), ChannelId(2), &api)
            .is_err()
    );
}

#[test]
fn totp_seeds_are_bound_to_their_user_and_purpose() {
    let vault = Vault::new(key());
    let seed = [7u8; 20];
    let sealed = vault.seal_totp(UserId(3), &seed).expect("seal");
    assert_eq!(
        vault
            .open_totp(UserId(3), &sealed)
            .expect("open")
            .as_slice(),
        &seed
    );
    assert!(vault.open_totp(UserId(4), &sealed).is_err());
    assert!(open(&vault, 3, 3, &sealed).is_err());
    assert!(
        vault
            .open_channel_secret(UserId(3), ChannelId(3), &sealed)
            .is_err()
    );
}

#[test]
fn errors_never_show_secrets() {
    let vault = Vault::new(key());
    let sealed = vault
        .seal_api_key(UserId(1), KeyId(2), &ApiSecret::new(TOKEN))
        .expect("seal");
    let err = open(&vault, 9, 9, &sealed).expect_err("wrong row");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(TOKEN));
    assert!(!text.contains("90ab"));
    assert!(!format!("{vault:?}").contains(TOKEN));
}
