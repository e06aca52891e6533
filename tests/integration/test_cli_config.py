"""The `nsl` command line and configuration: help, version, errors that name the key, overrides."""
import json
import re


def test_help_for_every_command(nsl_factory):
    for args in (["--help"], ["serve", "--help"], ["migrate", "--help"], ["config", "check", "--help"],
                 ["version", "--help"]):
        code, out, err = nsl_factory(args=args).run_to_end()
        assert code == 0, (args, err)
        assert "Usage:" in out, args
    _, out, _ = nsl_factory(args=["serve", "--help"]).run_to_end()
    assert "--config-dir" in out and "--urls" in out and "--environment" in out


def test_version(nsl_factory):
    code, out, _ = nsl_factory(args=["version"]).run_to_end()
    assert code == 0
    assert re.match(r"nsl \d+\.\d+\.\d+ \(", out)


def test_unknown_command_and_option_fail_with_one_clear_line(nsl_factory):
    code, _, err = nsl_factory(args=["frobnicate"]).run_to_end()
    assert code != 0
    assert "frobnicate" in err
    code, _, err = nsl_factory(args=["serve", "--no-such-flag"]).run_to_end()
    assert code != 0
    assert "--no-such-flag" in err
    code, _, err = nsl_factory(args=[]).run_to_end()
    assert code != 0


def assert_startup_refused(nsl_factory, expected, **kw):
    p = nsl_factory(**kw)
    code, out, err = p.run_to_end()
    assert code == 2, (code, out, err)
    assert expected in err, err
    assert "Now listening" not in out
    lines = [l for l in err.splitlines() if l]
    assert all(l.startswith("nsl: ") for l in lines), err
    return err


def test_bad_configuration_stops_startup_naming_the_key(nsl_factory):
    assert_startup_refused(nsl_factory, "RateLimiting:PermitLimit: must be an integer",
                           args=["serve", "--urls", "http://127.0.0.1:0"],
                           config={"RateLimiting": {"PermitLimit": "lots"}})
    assert_startup_refused(nsl_factory, "Servcies: unknown configuration key",
                           args=["serve", "--urls", "http://127.0.0.1:0"], config={"Servcies": {}})
    assert_startup_refused(nsl_factory, "Services:ServiceTimeoutSeconds: must be between 1 and 3600, got 0",
                           args=["serve", "--urls", "http://127.0.0.1:0"],
                           config={"Services": {"ServiceTimeoutSeconds": 0}})


def test_bad_environment_variable_is_named(nsl_factory):
    err = assert_startup_refused(nsl_factory, "(from environment variable Services__MaxConcurrentRequests)",
                                 args=["serve", "--urls", "http://127.0.0.1:0"],
                                 env={"Services__MaxConcurrentRequests": "-3"})
    assert "Services:MaxConcurrentRequests" in err


def test_invalid_json_names_file_and_line(nsl_factory, tmp_path):
    p = nsl_factory(args=["serve", "--urls", "http://127.0.0.1:0"])
    (p.workdir / "appsettings.json").write_text('{\n  "Services": {\n    "MaxConcurrentRequests": 10,\n  }\n}\n')
    code, _, err = p.run_to_end()
    assert code == 2
    assert "appsettings.json: invalid JSON" in err and "line 4" in err


def test_short_jwt_secret_is_refused_without_echoing_it(nsl_factory):
    err = assert_startup_refused(nsl_factory, "Jwt:Secret: must be at least 32 bytes",
                                 args=["serve", "--urls", "http://127.0.0.1:0"], env={"Jwt__Secret": "tooshort-XYZ"})
    assert "tooshort-XYZ" not in err


def test_a_bad_postgresql_connection_string_names_the_key(nsl_factory):
    assert_startup_refused(nsl_factory, "Maximum Pool Size must be a whole number",
                           args=["serve", "--urls", "http://127.0.0.1:0"],
                           env={"ConnectionStrings__DefaultConnection":
                                "Host=db;Database=x;Username=u;Password=p;Maximum Pool Size=many"})


def test_an_unreachable_postgresql_server_is_named_without_its_password(nsl_factory):
    p = nsl_factory(args=["serve", "--urls", "http://127.0.0.1:0"],
                    env={"ConnectionStrings__DefaultConnection":
                         "Host=127.0.0.1;Port=1;Database=x;Username=u;Password=hunter2-secret;Timeout=2"})
    code, _, err = p.run_to_end(timeout=60)
    assert code != 0
    assert "cannot open the PostgreSQL database" in err and "postgresql://u@127.0.0.1:1/x" in err, err
    assert "hunter2" not in err


def test_port_in_use_is_a_clear_error(nsl, nsl_factory):
    assert_startup_refused(nsl_factory, f"cannot listen on http://127.0.0.1:{nsl.port}",
                           args=["serve", "--urls", f"http://127.0.0.1:{nsl.port}"])


def test_config_check_prints_the_effective_configuration_with_secrets_masked(nsl_factory):
    p = nsl_factory(args=["config", "check"],
                    config={"Jwt": {"Secret": "0123456789abcdef0123456789abcdef-topsecret"},
                            "ConnectionStrings": {"Redis": "redis:6379,password=redis-pw-1"}},
                    env_config={"RateLimiting": {"PermitLimit": 25}}, environment="Staging",
                    env={"Services__ServiceTimeoutSeconds": "12", "ASPNETCORE_URLS": "http://+:8081"})
    code, out, err = p.run_to_end()
    assert code == 0, err
    cfg = json.loads(out)
    assert cfg["Environment"] == "Staging"
    assert cfg["RateLimiting"]["PermitLimit"] == 25          # from appsettings.Staging.json
    assert cfg["Services"]["ServiceTimeoutSeconds"] == 12    # from the environment
    assert cfg["Urls"] == "http://+:8081"                    # ASPNETCORE_URLS honoured
    assert cfg["Jwt"]["Secret"] == "********"
    assert "redis-pw-1" not in out and "topsecret" not in out
    assert cfg["ConnectionStrings"]["Redis"] == "redis:6379,password=********"
    assert any("appsettings.Staging.json" in s for s in cfg["Sources"])
    assert "configuration OK" in err


def test_aspnetcore_environment_is_the_fallback(nsl_factory):
    p = nsl_factory(args=["config", "check"], env_config={"Services": {"MaxConcurrentRequests": 77}},
                    environment="Development")
    p.env.pop("NSL_ENVIRONMENT")
    p.env["ASPNETCORE_ENVIRONMENT"] = "Development"
    code, out, _ = p.run_to_end()
    assert code == 0
    assert json.loads(out)["Services"]["MaxConcurrentRequests"] == 77


def test_config_dir_option_and_missing_dir(nsl_factory, tmp_path):
    conf = tmp_path / "etc-nsl"
    conf.mkdir()
    (conf / "appsettings.json").write_text(json.dumps({"RateLimiting": {"QueueLimit": 3}}))
    code, out, _ = nsl_factory(args=["config", "check", "--config-dir", str(conf)]).run_to_end()
    assert code == 0 and json.loads(out)["RateLimiting"]["QueueLimit"] == 3
    code, _, err = nsl_factory(args=["config", "check", "--config-dir", str(tmp_path / "absent")]).run_to_end()
    assert code == 2 and "does not exist" in err


def test_urls_from_configuration(nsl_factory):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nsl = nsl_factory(args=["serve"], config={"Urls": f"http://127.0.0.1:{port}"}).start()
    assert nsl.port == port
    assert nsl.get("/health/live").status_code == 200
