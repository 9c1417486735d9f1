-- The Mini App's database role: it reads, and can change nothing.
-- Run as the database's owner (the role that runs the migrations), after every migration:
--   psql -h db -U owner aftersales -v miniapp_password="$MINIAPP_PASSWORD" -f readonly-role.sql
-- then WEBAPP_DATABASE_URL=postgresql+asyncpg://aftersales_miniapp:PASSWORD@db/aftersales.

SELECT 'CREATE ROLE aftersales_miniapp LOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'aftersales_miniapp')
\gexec

\if :{?miniapp_password}
ALTER ROLE aftersales_miniapp PASSWORD :'miniapp_password';
\endif

-- every transaction it opens is read-only, whatever it asks
ALTER ROLE aftersales_miniapp SET default_transaction_read_only = on;

GRANT CONNECT ON DATABASE :"DBNAME" TO aftersales_miniapp;
GRANT USAGE ON SCHEMA public TO aftersales_miniapp;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO aftersales_miniapp;
-- and the tables later migrations add, when the owner creates them
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO aftersales_miniapp;
