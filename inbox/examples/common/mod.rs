//! Shared by the inbox's examples: a fresh PostgreSQL schema per run.

/// A schema of its own on the server `target` names, dropped by
/// [`Schema::drop_now`].
pub struct Schema {
    admin: tokio_postgres::Client,
    name: String,
    /// `target` with the schema as its search path: the inbox's URL.
    pub url: String,
}

impl Schema {
    /// Creates `{prefix}_{pid}` on `target`.
    pub async fn create(target: &str, prefix: &str) -> Schema {
        let name = format!("{prefix}_{}", std::process::id());
        let (admin, connection) = tokio_postgres::connect(target, tokio_postgres::NoTls)
            .await
            .expect("connecting to PostgreSQL");
        tokio::spawn(connection);
        admin
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .expect("creating the schema");
        let separator = if target.contains('?') { '&' } else { '?' };
        let url = format!("{target}{separator}options=-csearch_path%3D{name}");
        Schema { admin, name, url }
    }

    /// Drops the schema and all in it.
    pub async fn drop_now(self) {
        self.admin
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name))
            .await
            .expect("dropping the schema");
    }
}
