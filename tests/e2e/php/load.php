<?php
/*
 * Loads WordPress in the PHP CLI for tests/e2e/wpserver.py.
 *
 * Environment:
 *   BROADSHEET_WP_HTTP_HOST  "host:port" of the site (selects /etc/wordpress/config-HOST.php)
 *   BROADSHEET_WP_INSTALLING "1" while installing (defines WP_INSTALLING, loads upgrade.php)
 *
 * Helpers for the snippets that wpserver.py runs:
 *   broadsheet_input()      the JSON document given on stdin, decoded to arrays
 *   broadsheet_output($v)   prints $v as JSON after a marker line (what WordPress.call() parses)
 *   broadsheet_check($v)    throws when $v is a WP_Error (or false), returns $v otherwise
 */

$broadsheet_host = getenv('BROADSHEET_WP_HTTP_HOST');
if (!$broadsheet_host) {
    fwrite(STDERR, "BROADSHEET_WP_HTTP_HOST is not set\n");
    exit(2);
}
$_SERVER['HTTP_HOST']       = $broadsheet_host;
$_SERVER['SERVER_NAME']     = preg_replace('/:.*/', '', $broadsheet_host);
$_SERVER['SERVER_PORT']     = (string) (int) preg_replace('/^[^:]*:?/', '', $broadsheet_host);
$_SERVER['REQUEST_URI']     = '/';
$_SERVER['REQUEST_METHOD']  = 'GET';
$_SERVER['REMOTE_ADDR']     = '127.0.0.1';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
$_SERVER['HTTP_USER_AGENT'] = 'broadsheet-e2e-cli';

if (getenv('BROADSHEET_WP_INSTALLING') === '1') {
    define('WP_INSTALLING', true);
}

require_once '/usr/share/wordpress/wp-load.php';

if (defined('WP_INSTALLING') && WP_INSTALLING) {
    require_once ABSPATH . 'wp-admin/includes/upgrade.php';
} elseif (get_user_by('id', 1)) {
    // Act as the administrator: no kses filtering of post content (so tests can plant
    // hostile markup, as a compromised site would serve it) and full capabilities.
    wp_set_current_user(1);
}

function broadsheet_input()
{
    static $input = null;
    if ($input === null) {
        $raw = stream_get_contents(STDIN);
        $input = ($raw === '' || $raw === false) ? array() : json_decode($raw, true, 512, JSON_THROW_ON_ERROR);
    }
    return $input;
}

function broadsheet_output($value)
{
    echo "\n@@BROADSHEET-JSON@@\n";
    echo json_encode($value, JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR | JSON_INVALID_UTF8_SUBSTITUTE);
    echo "\n";
}

function broadsheet_check($value, $what = 'WordPress call')
{
    if (is_wp_error($value)) {
        throw new RuntimeException($what . ' failed: ' . $value->get_error_code() . ': ' . $value->get_error_message());
    }
    if ($value === false || $value === 0) {
        throw new RuntimeException($what . ' failed (returned ' . var_export($value, true) . ')');
    }
    return $value;
}
