# install() rules: FHS paths as a Debian package lays them out. With
# CMAKE_INSTALL_PREFIX=/usr (the package's), GNUInstallDirs maps
# sysconfdir to /etc and localstatedir to /var; the unit goes where
# Debian 12's systemd looks for packaged units. Use DESTDIR to stage.
#
# Components: `approvald` (daemon, CLI, unit, man pages, /etc examples)
# and `emulator` (graph-emulator and its demo tenant), packaged apart:
# the emulator is a fake Graph and identity platform that issues tokens
# to anyone, for rehearsals and tests, and has no place on a production
# host unless someone asks for it by name.
# The unit names /usr/sbin/approvald and /etc/approvald: install there
# unless told otherwise (-DCMAKE_INSTALL_PREFIX=...).
if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
	set(CMAKE_INSTALL_PREFIX "/usr" CACHE PATH "install prefix" FORCE)
endif()
include(GNUInstallDirs)

set(APPROVALD_SYSTEMD_UNITDIR "/lib/systemd/system" CACHE PATH
	"where the systemd unit is installed")
set(APPROVALD_SYSUSERSDIR "/usr/lib/sysusers.d" CACHE PATH
	"where the sysusers.d(5) file is installed")
set(APPROVALD_TMPFILESDIR "/usr/lib/tmpfiles.d" CACHE PATH
	"where the tmpfiles.d(5) file is installed")
set(APPROVALD_DOCDIR "${CMAKE_INSTALL_DATADIR}/doc/approvald")

install(TARGETS approvald RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR}
	COMPONENT approvald)
install(TARGETS approvalctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
	COMPONENT approvald)
install(FILES systemd/approvald.service
	DESTINATION ${APPROVALD_SYSTEMD_UNITDIR} COMPONENT approvald)
install(FILES systemd/approvald.sysusers DESTINATION ${APPROVALD_SYSUSERSDIR}
	RENAME approvald.conf COMPONENT approvald)
install(FILES systemd/approvald.tmpfiles DESTINATION ${APPROVALD_TMPFILESDIR}
	RENAME approvald.conf COMPONENT approvald)
# Conffiles: a settings skeleton that passes `approvald --check` and a
# policy that decides nothing on its own (default: ignore). No secrets:
# those go to credentials/. 0644 inside a folder that tmpfiles.d makes
# 0750 root:approvald, so the daemon (group approvald) reads them and
# nobody else does.
install(FILES examples/etc/approvald.yaml examples/etc/policy.yaml
	DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/approvald
	COMPONENT approvald)
install(FILES README.md DESTINATION ${APPROVALD_DOCDIR} COMPONENT approvald)
install(FILES examples/approvald.yaml examples/policy.yaml
	examples/policy-tests.yaml examples/demo-tenant.json
	DESTINATION ${APPROVALD_DOCDIR}/examples COMPONENT approvald)
install(DIRECTORY examples/requests
	DESTINATION ${APPROVALD_DOCDIR}/examples COMPONENT approvald)
# The monitoring kit: Prometheus alert rules (and their unit tests) and a
# Grafana dashboard, for the operator to copy where they load from.
install(FILES contrib/README.md
	contrib/prometheus/approvald-alerts.yml
	contrib/prometheus/approvald-alerts.test.yml
	contrib/grafana/approvald.json
	DESTINATION ${APPROVALD_DOCDIR}/contrib COMPONENT approvald)

install(TARGETS graph-emulator RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
	COMPONENT emulator)
# The demo tenant names its seed requests relative to itself.
install(FILES examples/demo-tenant.json
	DESTINATION ${CMAKE_INSTALL_DATADIR}/graph-emulator COMPONENT emulator)
install(DIRECTORY examples/requests
	DESTINATION ${CMAKE_INSTALL_DATADIR}/graph-emulator COMPONENT emulator)

# Shell completions, built into ${CMAKE_BINARY_DIR}/completions by
# ctl/CMakeLists.txt from approvalctl's command table.
install(FILES ${CMAKE_BINARY_DIR}/completions/approvalctl
	DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
	COMPONENT approvald)
install(FILES ${CMAKE_BINARY_DIR}/completions/_approvalctl
	DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions
	COMPONENT approvald)

# Manual pages, built into ${CMAKE_BINARY_DIR}/man by man/CMakeLists.txt.
foreach(page man5/approvald.yaml.5 man5/approvald-policy.5
		man8/approvald.8 man8/approvalctl.8)
	get_filename_component(sub ${page} DIRECTORY)
	install(FILES ${CMAKE_BINARY_DIR}/man/${page}
		DESTINATION ${CMAKE_INSTALL_MANDIR}/${sub} COMPONENT approvald)
endforeach()
install(FILES ${CMAKE_BINARY_DIR}/man/man1/graph-emulator.1
	DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT emulator)
