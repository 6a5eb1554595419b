//! The database grants script (`render::database_grants_sql`, run in each cluster by the
//! db-grants Job) against a real PostgreSQL set up the way Cloud SQL is: databases owned by a
//! `cloudsqlsuperuser`-like role, the admin a member of it with CREATEROLE, and IAM users as
//! plain login roles without privileges. Before the script any user may connect anywhere (PUBLIC
//! has CONNECT); after it each service's user reaches its own database only, and can create its
//! tables there; a service whose database does not exist yet is skipped without failing the
//! others; running it again changes nothing. (That a member of `cloudsqlsuperuser` may grant
//! on its databases is PostgreSQL's rule for members of an owning role, which Cloud SQL keeps.)
//!
//! Roles are server-wide, so every name carries a suffix of this run; everything is dropped at
//! the end, also when an assertion fails.

use std::process::{Command, Output};
use std::str::FromStr as _;

use sqlx::postgres::PgConnectOptions;
use xtask::render::database_grants_sql;

/// The server of the tests (`TEST_DATABASE_URL`, as the other tests), as psql connection
/// keywords for `user` and `dbname`.
fn conninfo(user: &str, dbname: &str) -> String {
    let admin = PgConnectOptions::from_str(&kit::testing::admin_database_url())
        .expect("TEST_DATABASE_URL parses");
    let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    format!(
        "host={} port={} user={} dbname={}",
        quote(admin.get_host()),
        admin.get_port(),
        quote(user),
        quote(dbname)
    )
}

fn superuser() -> String {
    PgConnectOptions::from_str(&kit::testing::admin_database_url())
        .expect("TEST_DATABASE_URL parses")
        .get_username()
        .to_owned()
}

fn psql(user: &str, dbname: &str, args: &[&str]) -> Output {
    Command::new("psql")
        .args(["--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1"])
        .args(args)
        .arg(conninfo(user, dbname))
        .output()
        .expect("psql runs (PostgreSQL's client is installed with the server)")
}

fn sql(user: &str, dbname: &str, statements: &str) -> Result<String, String> {
    let out = psql(user, dbname, &["--tuples-only", "--command", statements]);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// Cloud SQL's layout under unique names; dropped on drop.
struct Instance {
    owner: String,
    admin: String,
    databases: Vec<String>,
    users: Vec<String>,
}

impl Instance {
    fn new(suffix: &str) -> Self {
        let owner = format!("cloudsqlsuperuser_{suffix}");
        let admin = format!("db-grants_{suffix}");
        let databases = vec![format!("cart_{suffix}"), format!("order_{suffix}")];
        let users = vec![
            format!("svc-cart@shop-{suffix}.iam"),
            format!("svc-order@shop-{suffix}.iam"),
            format!("svc-stranger@shop-{suffix}.iam"),
        ];
        let instance = Self {
            owner,
            admin,
            databases,
            users,
        };
        let su = superuser();
        let mut setup = format!(
            "CREATE ROLE \"{o}\" NOLOGIN CREATEROLE CREATEDB;\n\
             CREATE ROLE \"{a}\" LOGIN CREATEROLE CREATEDB IN ROLE \"{o}\";\n",
            o = instance.owner,
            a = instance.admin
        );
        for user in &instance.users {
            setup.push_str(&format!("CREATE ROLE \"{user}\" LOGIN;\n"));
        }
        sql(&su, "postgres", &setup).expect("roles are created");
        for database in &instance.databases {
            // CREATE DATABASE cannot run in a multi-statement transaction block.
            sql(
                &su,
                "postgres",
                &format!(
                    "CREATE DATABASE \"{database}\" OWNER \"{}\"",
                    instance.owner
                ),
            )
            .expect("databases are created");
        }
        instance
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let su = superuser();
        for database in &self.databases {
            let _ = sql(
                &su,
                "postgres",
                &format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"),
            );
        }
        for role in self.users.iter().chain([&self.admin, &self.owner]) {
            let _ = sql(&su, "postgres", &format!("DROP ROLE IF EXISTS \"{role}\""));
        }
    }
}

#[test]
fn each_service_reaches_its_own_database_only() {
    let suffix = format!(
        "{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let instance = Instance::new(&suffix);
    let (cart_db, order_db) = (&instance.databases[0], &instance.databases[1]);
    let (cart, order, stranger) = (&instance.users[0], &instance.users[1], &instance.users[2]);

    // The defect the script removes: PUBLIC may connect to every database.
    sql(order, cart_db, "SELECT 1").expect("before the grants, any user connects anywhere");

    // A service whose database Terraform has not created yet is skipped; the others are granted.
    let script = database_grants_sql(&[
        (
            format!("loyalty_{suffix}"),
            format!("svc-loyalty@shop-{suffix}.iam"),
        ),
        (cart_db.clone(), cart.clone()),
        (order_db.clone(), order.clone()),
    ]);
    let file = std::env::temp_dir().join(format!("grants-{suffix}.sql"));
    std::fs::write(&file, &script).unwrap();
    for run in ["first", "second"] {
        let out = psql(
            &instance.admin,
            "postgres",
            &["--file", file.to_str().unwrap()],
        );
        assert!(
            out.status.success(),
            "the {run} run of the script fails: {}\n{script}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.contains(&format!(
                "loyalty_{suffix}: the database or its IAM user does not exist yet"
            )),
            "{said}"
        );
    }
    let _ = std::fs::remove_file(&file);

    for (user, own, other) in [(cart, cart_db, order_db), (order, order_db, cart_db)] {
        let rows = sql(
            user,
            own,
            "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1); \
             SELECT count(*) FROM items",
        )
        .unwrap_or_else(|e| panic!("{user} cannot use its own database {own}: {e}"));
        assert_eq!(rows, "1");
        let refused = sql(user, other, "SELECT 1").expect_err("another service's database");
        assert!(
            refused.contains("permission denied for database"),
            "{user} on {other}: {refused}"
        );
    }
    for database in [cart_db, order_db] {
        let refused = sql(stranger, database, "SELECT 1").expect_err("no grant, no connection");
        assert!(refused.contains("permission denied"), "{refused}");
    }
    // The services' DATABASE_URL names the IAM user percent-encoded (`svc-cart%40shop-….iam`):
    // sqlx, which the kit connects with, decodes it back.
    let url = format!(
        "postgres://{}@127.0.0.1:5432/{cart_db}?sslmode=disable",
        cart.replace('@', "%40")
    );
    let options = PgConnectOptions::from_str(&url).expect("the rendered DATABASE_URL form parses");
    assert_eq!(options.get_username(), cart.as_str());
    assert_eq!(options.get_database(), Some(cart_db.as_str()));
}
