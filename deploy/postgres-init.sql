-- Run once by the postgres container on an empty volume (docker-entrypoint-initdb.d), as the superuser that
-- POSTGRES_USER names. One database per concern: Dagster's own storage (POSTGRES_DB, created by the image),
-- the DuckLake catalog, and the coordination stores (tokens and rate-limit slots, readable by this role only).
CREATE DATABASE fleet_catalog;
CREATE DATABASE fleet_coordination;
