# fish completion for shifty-ent (generated; do not edit)
function __shifty_ent_path
    set -l words (commandline -opc)
    set -e words[1]
    set -l path ""
    set -l skip 0
    set -l valued --as --data-root --db --gpu-hourly-budget --gpu-monthly-budget --output --role --tenant --timezone -o -r -t
    for w in $words
        if test $skip -eq 1
            set skip 0
            continue
        end
        if contains -- $w $valued
            set skip 1
            continue
        end
        if string match -q -- '-*' $w
            continue
        end
        set path (string trim -- "$path $w")
    end
    echo "$path"
end
complete -c shifty-ent -f
complete -c shifty-ent -n 'test (__shifty_ent_path) = ""' -a 'init config db tenant user report'
complete -c shifty-ent -n 'test (__shifty_ent_path) = ""' -l as -l db -l debug -l help -l json -l output -l quiet -l tenant -l version
complete -c shifty-ent -n 'test (__shifty_ent_path) = "config"' -a 'show'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "config"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "config show"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "db"' -a 'check current upgrade'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "db"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "db check"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "db current"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "db upgrade"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "init"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report"' -a 'audit'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report audit"' -a 'verify'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report audit"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "report audit verify"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "tenant"' -a 'create list show'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "tenant"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "tenant create"' -l data-root -l gpu-hourly-budget -l gpu-monthly-budget -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "tenant list"' -l all -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "tenant show"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "user"' -a 'add list remove'
complete -c shifty-ent -n 'test (__shifty_ent_path) = "user"' -l help
complete -c shifty-ent -n 'test (__shifty_ent_path) = "user add"' -l help -l role -l timezone
complete -c shifty-ent -n 'test (__shifty_ent_path) = "user list"' -l help -l removed
complete -c shifty-ent -n 'test (__shifty_ent_path) = "user remove"' -l help -l yes
